"""Tweet and user search."""

from chirp import api_models as api
from chirp.container import get_container
from chirp.http import RestApp

app = RestApp("search")


@app.operation("search_tweets")
def search_tweets() -> api.SearchResult:
    q = app.search_text("q")
    cursor = app.query_id("cursor")  # an id (recent) or an offset (top): the document's id pattern either way
    kind = app.query("type")  # absent means recent; present, it must be one of the document's enum (not "")
    c = get_container()
    return c.search.search(
        app.viewer(c.tokens.verify),
        q,
        kind="recent" if kind is None else kind,
        count=app.count(),
        cursor=None if cursor is None else str(cursor),
    )


@app.operation("search_users")
def search_users() -> api.UserList:
    return get_container().search.users(app.principal(), app.query("q") or "", count=app.count())


app.bind()
handler = app.handler
