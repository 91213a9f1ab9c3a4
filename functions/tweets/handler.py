"""Post, read and delete tweets; threads; likes and retweets."""

from typing import Any

from chirp import api_models as api
from chirp.api_models import CreateTweetRequest
from chirp.container import get_container
from chirp.http import RestApp, created, path_id
from chirp.ids import parse_id
from chirp.services.tweets import NewTweet

app = RestApp("tweets")


@app.operation("create_tweet")
def create_tweet() -> Any:
    body = app.body(CreateTweetRequest)
    new = NewTweet(
        content=body.content,
        media_ids=body.media_ids,
        reply_to=parse_id(body.reply_to, field="reply_to") if body.reply_to else None,
        quote_tweet=parse_id(body.quote_tweet, field="quote_tweet") if body.quote_tweet else None,
    )
    tweet = get_container().tweets.create(app.principal(), new, idempotency_key=app.idempotency_key())
    return created(tweet, {"Location": f"/api/v1/tweets/{tweet['tweet_id']}"})


@app.operation("get_tweet")
def get_tweet(tweet_id: str) -> api.Tweet:
    c = get_container()
    return c.tweets.get(app.viewer(c.tokens.verify), path_id(tweet_id))


@app.operation("delete_tweet")
def delete_tweet(tweet_id: str) -> api.Deleted:
    get_container().tweets.delete(app.principal(), path_id(tweet_id))
    return {"deleted": True, "tweet_id": tweet_id}


@app.operation("bookmark")
def bookmark(tweet_id: str) -> api.Bookmark:
    return get_container().tweets.bookmark(app.principal(), path_id(tweet_id))


@app.operation("unbookmark")
def unbookmark(tweet_id: str) -> api.Bookmark:
    return get_container().tweets.unbookmark(app.principal(), path_id(tweet_id))


@app.operation("bookmarks")
def bookmarks() -> api.TweetPage:
    tweets, next_cursor = get_container().tweets.bookmarks(
        app.principal(), before=app.query_id("cursor"), count=app.count()
    )
    return {"tweets": tweets, "next_cursor": str(next_cursor) if next_cursor else None, "has_more": bool(next_cursor)}


@app.operation("replies")
def replies(tweet_id: str) -> api.TweetPage:
    c = get_container()
    tweets, next_cursor = c.tweets.replies(
        app.viewer(c.tokens.verify), path_id(tweet_id), after=app.query_id("cursor"), count=app.count()
    )
    return {"tweets": tweets, "next_cursor": str(next_cursor) if next_cursor else None, "has_more": bool(next_cursor)}


@app.operation("like")
def like(tweet_id: str) -> api.Tweet:
    return get_container().tweets.set_like(app.principal(), path_id(tweet_id), on=True)


@app.operation("unlike")
def unlike(tweet_id: str) -> api.Tweet:
    return get_container().tweets.set_like(app.principal(), path_id(tweet_id), on=False)


@app.operation("retweet")
def retweet(tweet_id: str) -> api.Tweet:
    return get_container().tweets.set_retweet(app.principal(), path_id(tweet_id), on=True)


@app.operation("unretweet")
def unretweet(tweet_id: str) -> api.Tweet:
    return get_container().tweets.set_retweet(app.principal(), path_id(tweet_id), on=False)


app.bind()
handler = app.handler
