"""Presigned media uploads."""

from typing import Any

from chirp.api_models import MediaUploadRequest
from chirp.container import get_container
from chirp.http import RestApp, created

app = RestApp("media")


@app.operation("create_upload")
def create_upload() -> Any:
    body = app.body(MediaUploadRequest)
    return created(
        get_container().media.create_upload(app.principal(), content_type=body.content_type, size=int(body.size))
    )


app.bind()
handler = app.handler
