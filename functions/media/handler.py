"""Presigned media uploads, their processing state and alt text."""

from typing import Any

from chirp import api_models as api
from chirp.api_models import CompleteUploadRequest, MediaAltTextRequest, MediaUploadRequest
from chirp.container import get_container
from chirp.http import RestApp, created

app = RestApp("media")


@app.operation("create_upload")
def create_upload() -> Any:
    body = app.body(MediaUploadRequest)
    return created(
        get_container().media.create_upload(app.principal(), content_type=body.content_type, size=int(body.size))
    )


@app.operation("complete_upload")
def complete_upload(media_id: str) -> api.Media:
    body = app.body(CompleteUploadRequest)
    return get_container().media.complete_upload(app.principal(), media_id, upload_id=body.upload_id, etags=body.etags)


@app.operation("get_media")
def get_media(media_id: str) -> api.Media:
    return get_container().media.get(app.principal(), media_id)


@app.operation("set_alt_text")
def set_alt_text(media_id: str) -> api.Media:
    body = app.body(MediaAltTextRequest)
    return get_container().media.set_alt_text(app.principal(), media_id, body.alt_text)


app.bind()
handler = app.handler
