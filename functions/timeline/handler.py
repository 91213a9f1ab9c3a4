"""Home timeline (hybrid fan-out) and its long-poll fallback."""

from chirp import api_models as api
from chirp.container import get_container
from chirp.http import RestApp

app = RestApp("timeline")


@app.operation("home")
def home() -> api.TweetPage:
    viewer = app.principal()
    c = get_container()
    page = c.feed.read_home(viewer.user_id, before=app.query_id("cursor"), after=None, count=app.count())
    return {
        "tweets": page.tweets,
        "next_cursor": str(page.next_cursor) if page.next_cursor else None,
        "has_more": page.next_cursor is not None,
    }


@app.operation("poll")
def poll() -> api.Poll:
    viewer = app.principal()
    c = get_container()
    since_id = app.query_id("since_id") or 0
    max_wait = c.settings.poll_max_wait_s
    timeout = app.query_int("timeout", default=int(max_wait), low=0, high=int(max_wait))
    ids = c.feed.wait_for_newer(viewer.user_id, since_id=since_id, timeout_s=timeout, count=app.count())
    tweets = c.tweets.hydrator.by_ids(viewer.user_id, ids)
    tweets = c.feed.visible(viewer.user_id, tweets)  # no retweet of a tweet shown, nothing blocked or muted
    # The newest entry read, shown or not: the next poll waits for what is newer (no loop on a hidden entry).
    newest = str(ids[0]) if ids else (str(since_id) if since_id else None)
    return {"tweets": tweets, "newest_id": newest}


app.bind()
handler = app.handler
