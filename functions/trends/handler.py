"""Trending hashtags."""

from chirp import api_models as api
from chirp.container import get_container
from chirp.http import RestApp

app = RestApp("trends")


@app.operation("trends")
def trends() -> api.Trends:
    c = get_container()
    app.viewer(c.tokens.verify)  # signed out is fine; a bad token is still a 401
    return c.trends.top(limit=app.query_int("count", default=10, low=1, high=30), place=app.query("place"))


app.bind()
handler = app.handler
