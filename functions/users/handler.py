"""Profiles, the follow graph and user timelines."""

from chirp import api_models as api
from chirp.container import get_container
from chirp.http import RestApp

app = RestApp("users")


@app.operation("get_profile")
def get_profile(username: str) -> api.Profile:
    c = get_container()
    return c.social.profile(app.viewer(c.tokens.verify), username)


@app.operation("follow")
def follow(username: str) -> api.Relationship:
    return get_container().social.follow(app.principal(), username)


@app.operation("unfollow")
def unfollow(username: str) -> api.Relationship:
    return get_container().social.unfollow(app.principal(), username)


@app.operation("followers")
def followers(username: str) -> api.UserPage:
    return get_container().social.followers(app.principal(), username, cursor=app.page_cursor(), count=app.count())


@app.operation("following")
def following(username: str) -> api.UserPage:
    return get_container().social.following(app.principal(), username, cursor=app.page_cursor(), count=app.count())


@app.operation("user_tweets")
def user_tweets(username: str) -> api.TweetPage:
    c = get_container()
    viewer = app.viewer(c.tokens.verify)
    author = c.social.user(username)
    tweets, next_cursor = c.tweets.by_author(viewer, author.user_id, before=app.query_id("cursor"), count=app.count())
    return {"tweets": tweets, "next_cursor": str(next_cursor) if next_cursor else None, "has_more": bool(next_cursor)}


app.bind()
handler = app.handler
