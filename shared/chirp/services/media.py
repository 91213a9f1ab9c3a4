"""Media uploads and their processing.

The client asks for an upload slot (content type and size are fixed by the signature) and uploads the bytes straight
to object storage under ``uploads/``. The object-created notification (S3's event notification on AWS; the local
runtime relays the embedded store's or moto's) runs the media processor (``process_upload``): it checks the bytes
(magic bytes, decompression bombs, truncation, the declared size), writes the renditions under ``media/`` (what the
CDN serves) and marks the record ready, or deletes the upload and marks the record failed with a reason. A tweet
takes up to 4 ready images or 1 ready video (``tweet_media``); the uploader can set alt text until it is posted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from functools import partial
from typing import Literal

from chirp import api_models as api
from chirp.config import Settings
from chirp.errors import Conflict, NotFound, RateLimited, ValidationFailed
from chirp.model import MediaProcessing, MediaRecord, now_ms
from chirp.services import media_processing as processing
from chirp.services.stores import Stores
from chirp.tokens import Principal

logger = logging.getLogger(__name__)

CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4"}
UPLOAD_EXPIRES_S = 900
MAX_VIDEO_BYTES = 512 * 1024 * 1024  # in parts: above the single-upload limit (settings.media_max_bytes, 15 MB)
PART_BYTES = 8 * 1024 * 1024  # S3's minimum part is 5 MB; 512 MB is 64 parts
MULTIPART_EXPIRES_S = 6 * 3600  # 512 MB over a slow uplink (2 Mbit/s: ~35 min) with room for retries
MEDIA_REQUESTS_PER_HOUR = 100
UPLOAD_PREFIX = "uploads/"  # what the processor is triggered for (S3 notification filter, local trigger alike)
MAX_IMAGES_PER_TWEET = 4
MAX_VIDEOS_PER_TWEET = 1
PENDING, READY, FAILED = "pending", "ready", "failed"


def upload_key(owner_id: int, media_id: str, content_type: str) -> str:
    return f"{UPLOAD_PREFIX}{owner_id}/{media_id}.{CONTENT_TYPES[content_type]}"


def media_id_of(key: str) -> str | None:
    """The media id an upload's key names (``uploads/<owner>/<id>.<ext>``), or None for any other key."""
    if not key.startswith(UPLOAD_PREFIX):
        return None
    name = key.rsplit("/", 1)[-1]
    media_id = name.split(".", 1)[0]
    return media_id if len(media_id) == 32 and all(c in "0123456789abcdef" for c in media_id) else None


class MediaService:
    def __init__(self, stores: Stores, settings: Settings) -> None:
        self._s = stores
        self._max = settings.media_max_bytes

    # ---- the uploader's API --------------------------------------------------------------------------------------

    def create_upload(self, owner: Principal, *, content_type: str, size: int) -> api.MediaUpload:
        ext = CONTENT_TYPES.get(content_type.lower())
        if ext is None:
            raise ValidationFailed(
                f"content_type must be one of {', '.join(CONTENT_TYPES)}", code="unsupported_media_type"
            )
        multipart = content_type.lower() == "video/mp4" and size > self._max
        limit = MAX_VIDEO_BYTES if content_type.lower() == "video/mp4" else self._max
        if not 1 <= size <= limit:
            raise ValidationFailed(f"size must be between 1 and {limit} bytes", code="invalid_media_size")
        decision = self._s.rate_limits.hit(
            f"media:{owner.user_id}", limit=MEDIA_REQUESTS_PER_HOUR, window_s=3600, now_ms=now_ms()
        )
        if not decision.allowed:
            raise RateLimited.of(decision, "media upload limit reached")
        media_id = uuid.uuid4().hex
        key = upload_key(owner.user_id, media_id, content_type.lower())
        self._s.media.create(
            MediaRecord(
                media_id=media_id,
                owner_id=owner.user_id,
                content_type=content_type.lower(),
                size=size,
                key=key,
                created_at_ms=now_ms(),
                status=PENDING,
            )
        )
        media_url = self._s.objects.public_url(_rendition_key(owner.user_id, media_id, content_type.lower()))
        if multipart:
            parts = self._s.objects.presign_multipart(
                key, content_type="video/mp4", size=size, part_size=PART_BYTES, expires_s=MULTIPART_EXPIRES_S
            )
            return {
                "media_id": media_id,
                "media_url": media_url,
                "upload": None,
                "multipart": {
                    "upload_id": parts.upload_id,
                    "part_size": parts.part_size,
                    "parts": [{"part_number": n, "url": url} for n, url in enumerate(parts.part_urls, start=1)],
                },
                "expires_in": parts.expires_in,
            }
        ticket = self._s.objects.presign_upload(
            key, content_type=content_type.lower(), size=size, expires_s=UPLOAD_EXPIRES_S
        )
        return {
            "media_id": media_id,
            "media_url": media_url,
            "upload": {"url": ticket.url, "method": ticket.method, "headers": ticket.headers, "fields": ticket.fields},
            "multipart": None,
            "expires_in": ticket.expires_in,
        }

    def complete_upload(self, owner: Principal, media_id: str, *, upload_id: str, etags: Sequence[str]) -> api.Media:
        """Assembles a multipart upload (S3 CompleteMultipartUpload); its object-created notification then runs the
        processor, as for any upload. An upload never completed is aborted by the bucket's lifecycle rule."""
        media = self._owned(owner, media_id)
        if media.size <= self._max or media.content_type != "video/mp4":
            raise Conflict(f"media {media_id!r} has no upload in parts to complete", code="not_multipart")
        if media.status != PENDING or self._s.objects.head(media.key) is not None:
            return self._media_json(media)  # completed already: a client's retry hears what the first call said
        try:
            self._s.objects.complete_multipart(media.key, upload_id, etags)
        except ValueError as exc:
            raise ValidationFailed(str(exc), code="upload_incomplete") from exc
        return self._media_json(media)

    def get(self, viewer: Principal, media_id: str) -> api.Media:
        return self._media_json(self._owned(viewer, media_id))

    def set_alt_text(self, owner: Principal, media_id: str, alt_text: str) -> api.Media:
        media = self._owned(owner, media_id)
        if media.tweet_id is not None:
            raise Conflict("the alt text cannot change once the media is posted", code="media_posted")
        text = alt_text.strip()
        self._s.media.set_alt_text(media_id, text)
        media.alt_text = text
        return self._media_json(media)

    def _owned(self, viewer: Principal, media_id: str) -> MediaRecord:
        media = self._s.media.get_many([media_id]).get(media_id)
        if media is None or media.owner_id != viewer.user_id:  # another's media: as if it did not exist
            raise NotFound(f"unknown media id {media_id!r}", code="unknown_media")
        return media

    def _media_json(self, media: MediaRecord) -> api.Media:
        status: Literal["pending", "ready", "failed"] = (
            "pending" if media.status == PENDING else "failed" if media.status == FAILED else "ready"
        )
        return {
            "media_id": media.media_id,
            "status": status,
            "reason": media.reason,
            "content_type": media.content_type,
            "alt_text": media.alt_text,
            "posted": media.tweet_id is not None,
            "item": self.item(media) if status == "ready" else None,
        }

    def item(self, media: MediaRecord) -> api.MediaItem:
        """A ready medium as tweets carry it. Records from before processing are served as uploaded."""
        url = self._s.objects.public_url(media.rendition_key or media.key)
        video = media.content_type.startswith("video/")
        return {
            "media_id": media.media_id,
            "type": "video" if video else "image",
            "url": url,
            "thumbnail_url": self._s.objects.public_url(media.thumbnail_key) if media.thumbnail_key else url,
            "width": media.width,
            "height": media.height,
            "duration_ms": media.duration_ms,
            "dominant_color": media.dominant_color,
            "alt_text": media.alt_text,
        }

    # ---- tweets ---------------------------------------------------------------------------------------------------

    def tweet_media(self, author: Principal, media_ids: Sequence[str]) -> list[api.MediaItem]:
        """The items a new tweet carries: the author's own, processed media, up to 4 images or 1 video.

        Unprocessed media are refused (409 media_not_ready), not waited for: a request would hold its Lambda for
        the processing time (an image takes ~0.3 s, a video's upload far longer) and the client already knows when
        the media is ready (GET /media/{id}); the web client posts once every attachment says ready."""
        unique = list(dict.fromkeys(media_ids))
        if not unique:
            return []
        found = self._s.media.get_many(unique)
        items: list[api.MediaItem] = []
        for media_id in unique:
            media = found.get(media_id)
            if media is None or media.owner_id != author.user_id:
                raise NotFound(f"unknown media id {media_id!r}", code="unknown_media")
            if media.status == PENDING:
                raise Conflict(
                    f"media {media_id!r} is not processed yet; retry once it is ready", code="media_not_ready"
                )
            if media.status == FAILED:
                raise ValidationFailed(f"media {media_id!r} was refused: {media.reason}", code="media_failed")
            if not media.rendition_key and self._s.objects.head(media.key) is None:  # from before processing
                raise Conflict(f"media {media_id!r} has not been uploaded", code="media_not_uploaded")
            items.append(self.item(media))
        videos = sum(1 for item in items if item["type"] == "video")
        if videos > MAX_VIDEOS_PER_TWEET or (videos and len(items) > 1) or len(items) > MAX_IMAGES_PER_TWEET:
            raise ValidationFailed("a tweet takes up to 4 images or 1 video", code="too_many_media")
        return items

    def mark_posted(self, media_ids: Sequence[str], tweet_id: int) -> None:
        self._s.media.mark_posted(list(dict.fromkeys(media_ids)), tweet_id)

    # ---- processing (the media processor function) ---------------------------------------------------------------

    def process_upload(self, key: str) -> str:
        """Processes the upload stored at ``key``; returns the record's status afterwards ("ignored" for a key that
        names no pending upload). Idempotent: a redelivered notification finds the record no longer pending.
        Store outages raise (StoreUnavailable): the caller retries and then dead-letters the notification."""
        media_id = media_id_of(key)
        media = self._s.media.get_many([media_id]).get(media_id) if media_id else None
        if media is None or media.key != key:
            return "ignored"
        if media.status != PENDING:
            return media.status  # a redelivery: processed already
        stored = self._s.objects.head(key)
        if stored is None:
            return PENDING  # the notification raced the object away (deleted by a previous attempt)
        try:
            if stored[0] != media.size:  # an oversized (or short) part, or a file other than the one declared
                raise processing.MediaRejected(f"the upload has {stored[0]} bytes, not the {media.size} declared")
            outcome = self._process(media)
        except processing.MediaRejected as exc:
            self._s.objects.delete(key)  # nothing of a refused file is kept
            self._s.media.set_processing(media.media_id, MediaProcessing(status=FAILED, reason=str(exc)))
            logger.info("media refused", extra={"media_id": media.media_id, "reason": str(exc)})
            return FAILED
        self._s.media.set_processing(media.media_id, outcome)
        self._s.objects.delete(key)  # the renditions are what is served; the upload (with its EXIF) goes
        return READY

    def abandon_upload(self, key: str, error: str) -> None:
        """Processing kept failing (not a refused file: a bug, or bytes Pillow chokes on): the upload is deleted
        and its record marked failed, so that the uploader learns of it and nothing half-processed is shown."""
        media_id = media_id_of(key)
        media = self._s.media.get_many([media_id]).get(media_id) if media_id else None
        if media is None or media.key != key or media.status != PENDING:
            return
        self._s.objects.delete(key)
        reason = "the file could not be processed"
        self._s.media.set_processing(media.media_id, MediaProcessing(status=FAILED, reason=reason))
        logger.error("media processing abandoned", extra={"media_id": media.media_id, "error": error})

    def _process(self, media: MediaRecord) -> MediaProcessing:
        base = f"media/{media.owner_id}/{media.media_id}"
        if media.content_type == "video/mp4":  # up to 512 MB: checked by ranged reads, copied within the store
            duration = processing.check_mp4(partial(self._s.objects.read_range, media.key), media.size)
            rendition = _rendition_key(media.owner_id, media.media_id, media.content_type)
            self._s.objects.copy(media.key, rendition)  # served as uploaded: no transcoding
            return MediaProcessing(status=READY, duration_ms=duration, rendition_key=rendition)
        found = self._s.objects.read(media.key)
        if found is None:
            raise processing.MediaRejected("the upload disappeared while it was processed")
        data = found[0]
        image = processing.process_image(data, media.content_type)
        display_key, thumbnail_key = f"{base}/large", f"{base}/thumb"  # no extension: the stored type says it
        if media.content_type == "image/gif":  # the animation itself, checked frame by frame (re-encoding grows it)
            self._s.objects.put(display_key, data, media.content_type)
        else:
            self._s.objects.put(display_key, image.display.data, image.display.content_type)
        self._s.objects.put(thumbnail_key, image.thumbnail.data, image.thumbnail.content_type)
        return MediaProcessing(
            status=READY,
            width=image.display.width,
            height=image.display.height,
            dominant_color=image.dominant_color,
            rendition_key=display_key,
            thumbnail_key=thumbnail_key,
        )

    # ---- avatars (profiles) --------------------------------------------------------------------------------------

    def avatar_renditions(self, owner: Principal, media_id: str) -> dict[int, str]:
        """Square avatar crops (48, 96 and 400 px) of the owner's processed image ``media_id``, stored under
        ``media/``; returns {size: public URL}. 404 for another's or unknown media, 409 while it is pending,
        400 for a video or a refused upload. Idempotent: the same media gives the same keys."""
        media = self._owned(owner, media_id)
        if media.status == PENDING:
            raise Conflict(f"media {media_id!r} is not processed yet; retry once it is ready", code="media_not_ready")
        if media.status == FAILED or not media.content_type.startswith("image/"):
            raise ValidationFailed("an avatar must be a processed image", code="invalid_avatar")
        source_key = media.rendition_key or media.key
        found = self._s.objects.read(source_key)
        if found is None:
            raise Conflict(f"media {media_id!r} has not been uploaded", code="media_not_uploaded")
        data, content_type = found
        try:
            crops = processing.square_crops(data, content_type)
        except processing.MediaRejected as exc:
            raise ValidationFailed(str(exc), code="invalid_avatar") from exc
        urls: dict[int, str] = {}
        for size, crop in crops.items():
            key = f"media/{owner.user_id}/{media_id}/avatar-{size}"  # under media/: the CDN serves it
            self._s.objects.put(key, crop.data, crop.content_type)
            urls[size] = self._s.objects.public_url(key)
        return urls


def _rendition_key(owner_id: int, media_id: str, content_type: str) -> str:
    """Where the rendition a tweet shows is served from, known before processing (the client may show it)."""
    base = f"media/{owner_id}/{media_id}"
    return f"{base}/video" if content_type == "video/mp4" else f"{base}/large"
