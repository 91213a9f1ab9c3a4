"""MediaCatalog on Keyspaces: media metadata by id."""

from __future__ import annotations

from collections.abc import Sequence

from cassandra.cluster import Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import Statements, execute, read_many
from chirp.model import MediaRecord
from chirp.ports import present_keys, require_keys

CQL: dict[str, str] = {
    "insert": "INSERT INTO {ks}.media (media_id, owner_id, content_type, size, object_key, created_at_ms)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "get": "SELECT media_id, owner_id, content_type, size, object_key, created_at_ms FROM {ks}.media"
    " WHERE media_id = ?",
}


class KeyspacesMediaCatalog:
    def __init__(self, session: Session, keyspace: str) -> None:
        self._session = session
        self._q = Statements(session, keyspace, CQL)

    def create(self, media: MediaRecord) -> None:
        m = media
        require_keys("media_id", m.media_id)
        execute(
            self._session, self._q["insert"], (m.media_id, m.owner_id, m.content_type, m.size, m.key, m.created_at_ms)
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
                )
        return found
