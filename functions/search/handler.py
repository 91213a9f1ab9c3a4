"""Tweet and user search."""

from typing import Any

from chirp.container import get_container
from chirp.errors import ValidationFailed
from chirp.http import RestApp

app = RestApp("search")


@app.operation("search_tweets")
def search_tweets() -> dict[str, Any]:
    q = app.query("q")
    if not q:
        raise ValidationFailed("q is required", code="invalid_query")
    return get_container().search.search(
        app.principal(), q, kind=app.query("type") or "recent", count=app.count(), cursor=app.query("cursor")
    )


@app.operation("search_users")
def search_users() -> dict[str, Any]:
    return get_container().search.users(app.principal(), app.query("q") or "", count=app.count())


app.bind()
handler = app.handler
