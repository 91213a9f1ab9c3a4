"""Notifications and read markers."""

from chirp import api_models as api
from chirp.api_models import MarkReadRequest
from chirp.container import get_container
from chirp.http import RestApp
from chirp.ids import parse_id

app = RestApp("notifications")


@app.operation("list_notifications")
def list_notifications() -> api.NotificationPage:
    return get_container().notifications.list(app.principal(), before=app.query_id("cursor"), count=app.count())


@app.operation("mark_read")
def mark_read() -> api.MarkRead:
    viewer = app.principal()
    body = app.body(MarkReadRequest) if (app.event.raw_event.get("body") or "").strip() else MarkReadRequest()
    up_to = parse_id(body.up_to, field="up_to") if body.up_to else None
    return get_container().notifications.mark_read(viewer, up_to=up_to)


app.bind()
handler = app.handler
