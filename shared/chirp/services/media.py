"""Presigned media uploads: the client asks for an upload slot (content type and size are fixed by the signature),
uploads the bytes straight to object storage, then references the media id in a tweet."""

from __future__ import annotations

import uuid

from chirp import api_models as api
from chirp.config import Settings
from chirp.errors import RateLimited, ValidationFailed
from chirp.model import MediaRecord, now_ms
from chirp.services.stores import Stores
from chirp.tokens import Principal

CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4"}
UPLOAD_EXPIRES_S = 900
MEDIA_REQUESTS_PER_HOUR = 100


class MediaService:
    def __init__(self, stores: Stores, settings: Settings) -> None:
        self._s = stores
        self._max = settings.media_max_bytes

    def create_upload(self, owner: Principal, *, content_type: str, size: int) -> api.MediaUpload:
        ext = CONTENT_TYPES.get(content_type.lower())
        if ext is None:
            raise ValidationFailed(
                f"content_type must be one of {', '.join(CONTENT_TYPES)}", code="unsupported_media_type"
            )
        if not 1 <= size <= self._max:
            raise ValidationFailed(f"size must be between 1 and {self._max} bytes", code="invalid_media_size")
        decision = self._s.rate_limits.hit(
            f"media:{owner.user_id}", limit=MEDIA_REQUESTS_PER_HOUR, window_s=3600, now_ms=now_ms()
        )
        if not decision.allowed:
            raise RateLimited.of(decision, "media upload limit reached")
        media_id = uuid.uuid4().hex
        key = f"media/{owner.user_id}/{media_id}.{ext}"
        self._s.media.create(
            MediaRecord(
                media_id=media_id,
                owner_id=owner.user_id,
                content_type=content_type.lower(),
                size=size,
                key=key,
                created_at_ms=now_ms(),
            )
        )
        ticket = self._s.objects.presign_upload(
            key, content_type=content_type.lower(), size=size, expires_s=UPLOAD_EXPIRES_S
        )
        return {
            "media_id": media_id,
            "media_url": self._s.objects.public_url(key),
            "upload": {"url": ticket.url, "method": ticket.method, "headers": ticket.headers, "fields": ticket.fields},
            "expires_in": ticket.expires_in,
        }
