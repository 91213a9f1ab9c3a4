"""Profiles, the follow graph and user timelines."""

from chirp import api_models as api
from chirp.api_models import ChangePasswordRequest, DeleteAccountRequest, UpdateProfileRequest
from chirp.container import get_container
from chirp.http import RestApp

app = RestApp("users")


@app.operation("get_me")
def get_me() -> api.Me:
    return get_container().profiles.me(app.principal())


@app.operation("update_me")
def update_me() -> api.Me:
    body = app.body(UpdateProfileRequest)
    return get_container().profiles.update(
        app.principal(),
        display_name=body.display_name,
        bio=body.bio,
        place=body.place,
        avatar_media_id=body.avatar_media_id,
    )


@app.operation("delete_me")
def delete_me() -> api.AccountDeletion:
    body = app.body(DeleteAccountRequest)
    return get_container().profiles.delete_account(app.principal(), password=body.password)


@app.operation("change_password")
def change_password() -> api.Login:
    body = app.body(ChangePasswordRequest)
    return get_container().auth.change_password(
        app.principal(), current_password=body.current_password, new_password=body.new_password
    )


@app.operation("user_likes")
def user_likes(username: str) -> api.TweetPage:
    return get_container().profiles.likes(app.principal(), username, cursor=app.page_cursor(), count=app.count())


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
    c.safety.refuse_if_blocked(viewer.user_id if viewer else None, author.user_id)
    tweets, next_cursor = c.tweets.by_author(viewer, author.user_id, before=app.query_id("cursor"), count=app.count())
    return {"tweets": tweets, "next_cursor": str(next_cursor) if next_cursor else None, "has_more": bool(next_cursor)}


@app.operation("user_suggestions")
def user_suggestions() -> api.Suggestions:
    return get_container().social.suggestions(app.principal(), count=app.query_int("count", default=5, low=1, high=50))


@app.operation("block_user")
def block_user(username: str) -> api.SafetyState:
    return get_container().blocks.set_block(app.principal(), username, on=True)


@app.operation("unblock_user")
def unblock_user(username: str) -> api.SafetyState:
    return get_container().blocks.set_block(app.principal(), username, on=False)


@app.operation("mute_user")
def mute_user(username: str) -> api.SafetyState:
    return get_container().blocks.set_mute(app.principal(), username, on=True)


@app.operation("unmute_user")
def unmute_user(username: str) -> api.SafetyState:
    return get_container().blocks.set_mute(app.principal(), username, on=False)


@app.operation("list_blocks")
def list_blocks() -> api.UserList:
    return get_container().blocks.listed(app.principal(), "blocks")


@app.operation("list_mutes")
def list_mutes() -> api.UserList:
    return get_container().blocks.listed(app.principal(), "mutes")


app.bind()
handler = app.handler
