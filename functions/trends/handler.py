"""Trending hashtags."""

from typing import Any

from chirp.container import get_container
from chirp.http import RestApp

app = RestApp("trends")


@app.operation("trends")
def trends() -> dict[str, Any]:
    app.principal()
    return get_container().trends.top(limit=app.query_int("count", default=10, low=1, high=30))


app.bind()
handler = app.handler
