"""UserStore on Keyspaces: users by id, plus LWT claims that keep usernames and emails unique (case-insensitive)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from cassandra.cluster import Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import Statements, applied, execute, read_in, write_many
from chirp.model import UserRecord
from chirp.ports import DuplicateKey, StoreUnavailable, present_keys, require_keys

_COLUMNS = (
    "user_id, username, email, display_name, password_hash, bio, created_at_ms, avatar_media_id, place, token_version"
)
CQL: dict[str, str] = {
    "claim_username": "INSERT INTO {ks}.users_by_username (username_key, user_id) VALUES (?, ?) IF NOT EXISTS",
    "release_username": "DELETE FROM {ks}.users_by_username WHERE username_key = ? IF user_id = ?",
    "claim_email": "INSERT INTO {ks}.users_by_email (email_key, user_id) VALUES (?, ?) IF NOT EXISTS",
    "release_email": "DELETE FROM {ks}.users_by_email WHERE email_key = ? IF user_id = ?",
    "insert": f"INSERT INTO {{ks}}.users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
    "get": f"SELECT {_COLUMNS} FROM {{ks}}.users WHERE user_id = ?",
    "get_in": f"SELECT {_COLUMNS} FROM {{ks}}.users WHERE user_id IN ?",
    # IF EXISTS: an edit racing the account's deletion must not bring back a row holding only the edited columns.
    "update": "UPDATE {ks}.users SET display_name = ?, bio = ?, avatar_media_id = ?, place = ?, password_hash = ?,"
    " token_version = ? WHERE user_id = ? IF EXISTS",
    "delete": "DELETE FROM {ks}.users WHERE user_id = ?",
    "by_username": "SELECT user_id FROM {ks}.users_by_username WHERE username_key = ?",
}
# The bulk path's writes: the same rows without the lightweight-transaction guard (as DSBulk or cqlsh COPY write).
CQL |= {f"bulk_{name}": CQL[name].replace(" IF NOT EXISTS", "") for name in ("claim_username", "claim_email", "insert")}


class KeyspacesUserStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self._session = session
        self._q = Statements(session, keyspace, CQL)

    def create(self, user: UserRecord) -> None:
        """Claim the username, then the email, then insert the row; a refused step releases the earlier claims.
        DuplicateKey as the embedded store raises it: 'username' when the username is taken, else 'email'."""
        require_keys("username and email", user.username, user.email)
        username_key, email_key = user.username_key, user.email.lower()
        if not applied(self._session, self._q["claim_username"], (username_key, user.user_id)):
            raise DuplicateKey("username")
        claims = [("release_username", username_key)]
        try:
            if not applied(self._session, self._q["claim_email"], (email_key, user.user_id)):
                raise DuplicateKey("email")
            claims.append(("release_email", email_key))
            if not applied(self._session, self._q["insert"], _row(user)):
                raise DuplicateKey("email")  # the embedded store reports a taken user id as 'email', too
        except (DuplicateKey, StoreUnavailable):
            self._release(claims, user.user_id)
            raise

    def bulk_load_users(self, users: Sequence[UserRecord]) -> None:
        """Concurrent unguarded writes: the claims, then the rows (a Paxos round per row would make a large load
        take hours)."""
        for user in users:
            require_keys("username and email", user.username, user.email)
        write_many(self._session, self._q["bulk_claim_username"], [(u.username_key, u.user_id) for u in users])
        write_many(self._session, self._q["bulk_claim_email"], [(u.email.lower(), u.user_id) for u in users])
        write_many(self._session, self._q["bulk_insert"], [_row(u) for u in users])

    def _release(self, claims: list[tuple[str, str]], user_id: int) -> None:
        for statement, key in reversed(claims):
            with contextlib.suppress(StoreUnavailable):  # best effort: the original error is the one to report
                applied(self._session, self._q[statement], (key, user_id))

    def get(self, user_id: int) -> UserRecord | None:
        rows = execute(self._session, self._q["get"], (user_id,))
        return _user(rows[0]) if rows else None

    def get_many(self, user_ids: Sequence[int]) -> dict[int, UserRecord]:
        """One ``IN`` query per 100 users."""
        if not user_ids:
            return {}
        return {row.user_id: _user(row) for row in read_in(self._session, self._q["get_in"], user_ids)}

    def get_by_username(self, username: str) -> UserRecord | None:
        if not present_keys([username]):
            return None
        rows = execute(self._session, self._q["by_username"], (username.lower(),))
        return self.get(rows[0].user_id) if rows else None

    def update(self, user: UserRecord) -> None:
        applied(
            self._session,
            self._q["update"],
            (
                user.display_name,
                user.bio,
                user.avatar_media_id,
                user.place,
                user.password_hash,
                user.token_version,
                user.user_id,
            ),
        )

    def delete(self, user: UserRecord) -> None:
        """The row first (the user is gone for every read), then the claims, each released only if it is still this
        user's: a retry after a partial failure finishes the job, and a name someone else claimed since stays theirs."""
        execute(self._session, self._q["delete"], (user.user_id,))
        self._release([("release_username", user.username_key), ("release_email", user.email.lower())], user.user_id)


def _row(user: UserRecord) -> tuple[Any, ...]:
    return (
        user.user_id,
        user.username,
        user.email.lower(),
        user.display_name,
        user.password_hash,
        user.bio,
        user.created_at_ms,
        user.avatar_media_id,
        user.place,
        user.token_version,
    )


def _user(row: Any) -> UserRecord:
    return UserRecord(
        user_id=row.user_id,
        username=row.username,
        email=row.email,
        display_name=row.display_name,
        password_hash=row.password_hash,
        created_at_ms=row.created_at_ms,
        bio=row.bio or "",
        avatar_media_id=row.avatar_media_id or "",
        place=row.place or None,
        token_version=row.token_version or 0,
    )
