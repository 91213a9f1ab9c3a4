"""MediaCatalog on Keyspaces: media metadata by id. Processing, alt text and posting each UPDATE only their own
columns, so none of them overwrites another's."""

from __future__ import annotations

from collections.abc import Sequence

from cassandra.cluster import Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import Statements, execute, read_many
from chirp.model import MediaProcessing, MediaRecord
from chirp.ports import present_keys, require_keys

COLUMNS = (
    "media_id, owner_id, content_type, size, object_key, created_at_ms, status, reason, width, height, duration_ms,"
    " dominant_color, alt_text, rendition_key, thumbnail_key, tweet_id"
)
CQL: dict[str, str] = {
    "insert": f"INSERT INTO {{ks}}.media ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "get": f"SELECT {COLUMNS} FROM {{ks}}.media WHERE media_id = ?",
    "processed": "UPDATE {ks}.media SET status = ?, reason = ?, width = ?, height = ?, duration_ms = ?,"
    " dominant_color = ?, rendition_key = ?, thumbnail_key = ? WHERE media_id = ?",
    "alt_text": "UPDATE {ks}.media SET alt_text = ? WHERE media_id = ?",
    "posted": "UPDATE {ks}.media SET tweet_id = ? WHERE media_id = ?",
    "own": "INSERT INTO {ks}.media_by_owner (owner_id, media_id) VALUES (?, ?)",
    "owned": "SELECT media_id FROM {ks}.media_by_owner WHERE owner_id = ? LIMIT ?",
    "delete": "DELETE FROM {ks}.media WHERE media_id = ?",
    "disown": "DELETE FROM {ks}.media_by_owner WHERE owner_id = ? AND media_id = ?",
}


class KeyspacesMediaCatalog:
    def __init__(self, session: Session, keyspace: str) -> None:
        self._session = session
        self._q = Statements(session, keyspace, CQL)

    def create(self, media: MediaRecord) -> None:
        m = media
        require_keys("media_id", m.media_id)
        execute(self._session, self._q["own"], (m.owner_id, m.media_id))  # first: no row its owner cannot find
        execute(
            self._session,
            self._q["insert"],
            (
                *(m.media_id, m.owner_id, m.content_type, m.size, m.key, m.created_at_ms, m.status, m.reason),
                *(m.width, m.height, m.duration_ms, m.dominant_color, m.alt_text, m.rendition_key),
                *(m.thumbnail_key, m.tweet_id),
            ),
        )

    def get_many(self, media_ids: Sequence[str]) -> dict[str, MediaRecord]:
        ids = list(dict.fromkeys(present_keys(media_ids)))
        found: dict[str, MediaRecord] = {}
        for rows in read_many(self._session, self._q["get"], [(media_id,) for media_id in ids]):
            for row in rows:
                found[row.media_id] = MediaRecord(
                    media_id=row.media_id,
                    owner_id=row.owner_id,
                    content_type=row.content_type,
                    size=row.size,
                    key=row.object_key,
                    created_at_ms=row.created_at_ms,
                    status=row.status or "ready",  # rows from before processing: served as uploaded
                    reason=row.reason or "",
                    width=row.width,
                    height=row.height,
                    duration_ms=row.duration_ms,
                    dominant_color=row.dominant_color or "",
                    alt_text=row.alt_text or "",
                    rendition_key=row.rendition_key or "",
                    thumbnail_key=row.thumbnail_key or "",
                    tweet_id=row.tweet_id,
                )
        return found

    def set_processing(self, media_id: str, outcome: MediaProcessing) -> None:
        o = outcome
        require_keys("media_id", media_id)
        execute(
            self._session,
            self._q["processed"],
            (
                *(o.status, o.reason, o.width, o.height, o.duration_ms, o.dominant_color, o.rendition_key),
                *(o.thumbnail_key, media_id),
            ),
        )

    def set_alt_text(self, media_id: str, alt_text: str) -> None:
        require_keys("media_id", media_id)
        execute(self._session, self._q["alt_text"], (alt_text, media_id))

    def mark_posted(self, media_ids: Sequence[str], tweet_id: int) -> None:
        for media_id in present_keys(media_ids):
            execute(self._session, self._q["posted"], (tweet_id, media_id))

    def owned_by(self, owner_id: int, *, limit: int) -> list[MediaRecord]:
        ids = [row.media_id for row in execute(self._session, self._q["owned"], (owner_id, limit))]
        found = self.get_many(ids)
        # An index row whose media row is gone (a deletion that stopped half-way) is still the owner's: returned
        # bare so that forgetting it again removes the index row too.
        return [found.get(i) or MediaRecord(i, owner_id, "", 0, "", 0) for i in ids]

    def forget(self, media: Sequence[MediaRecord]) -> None:
        for m in media:
            execute(self._session, self._q["delete"], (m.media_id,))
            execute(self._session, self._q["disown"], (m.owner_id, m.media_id))
