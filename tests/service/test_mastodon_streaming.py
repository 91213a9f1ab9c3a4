"""Mastodon's streaming protocol over Chirp's WebSocket routes: which connections speak it, subscribe / unsubscribe
(at connect with ?stream= and by message), the events they receive (update, notification, delete) rendered as
Mastodon entities, hashtag streams, and Chirp's own connections left as they were."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chirp.container import Container
from chirp.local import events
from chirp.services.streaming import StreamingError
from chirp.services.tweets import NewTweet
from chirp.websocket import dispatch
from support.stack import drain, pusher, signup


def mastodon_events(stack: Container, connection_id: str, event: str | None = None) -> list[dict[str, Any]]:
    """What a Mastodon connection received (every message must be a Mastodon event, never Chirp's)."""
    sent = pusher(stack).sent.get(connection_id, [])
    for message in sent:
        assert "type" not in message, f"a Chirp message reached a Mastodon connection: {message}"
    return [dict(m) for m in sent if event is None or m.get("event") == event]


def send(stack: Container, connection_id: str, user_id: int, message: dict[str, Any]) -> dict[str, Any]:
    """A $default message as API Gateway delivers it (with the $connect authorizer's context)."""
    authorizer = {"principalId": str(user_id), "user_id": str(user_id)}
    return dispatch(
        events.websocket_event(
            route_key="$default", connection_id=connection_id, body=json.dumps(message), authorizer=authorizer
        )
    )


def test_a_user_stream_receives_followees_tweets_as_mastodon_statuses(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    stack.realtime.connect("m-bob", bob.user_id, mastodon={"stream": "user", "access_token": "x"})
    stack.realtime.connect("c-bob", bob.user_id)  # the same user on Chirp's own client
    posted = stack.tweets.create(alice, NewTweet(content="hello @bob #Python & <friends>"))
    drain(stack)
    (update,) = mastodon_events(stack, "m-bob", "update")
    assert update["stream"] == ["user"]
    status = json.loads(update["payload"])
    assert status["id"] == posted["tweet_id"]
    assert status["account"]["username"] == "alice"
    assert "&lt;friends&gt;" in status["content"] and "<friends>" not in status["content"]
    assert [t["name"] for t in status["tags"]] == ["python"]
    # Chirp's client of the same user still gets Chirp's message, once.
    chirp_messages: list[Any] = pusher(stack).of_type("c-bob", "new_tweet")
    assert [m["tweet"]["tweet_id"] for m in chirp_messages] == [posted["tweet_id"]]


def test_a_connection_hears_nothing_until_it_subscribes_and_nothing_after_it_unsubscribes(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    stack.realtime.connect("m-bob", bob.user_id, mastodon={})
    stack.tweets.create(alice, NewTweet(content="before"))
    drain(stack)
    assert mastodon_events(stack, "m-bob") == []
    assert send(stack, "m-bob", bob.user_id, {"type": "subscribe", "stream": "user"}) == {"statusCode": 200}
    stack.tweets.create(alice, NewTweet(content="during"))
    drain(stack)
    send(stack, "m-bob", bob.user_id, {"type": "unsubscribe", "stream": "user"})
    stack.tweets.create(alice, NewTweet(content="after"))
    drain(stack)
    contents = [json.loads(e["payload"])["content"] for e in mastodon_events(stack, "m-bob", "update")]
    assert len(contents) == 1 and "during" in contents[0]


def test_hashtag_streams_receive_anyones_tweets_with_that_tag(stack: Container) -> None:
    alice, reader = signup(stack, "alice"), signup(stack, "reader")  # reader follows nobody
    stack.realtime.connect("m-reader", reader.user_id, mastodon={"stream": "hashtag", "tag": "Python"})
    send(stack, "m-reader", reader.user_id, {"type": "subscribe", "stream": "hashtag:local", "tag": "#rust"})
    tagged = stack.tweets.create(alice, NewTweet(content="I like #python"))
    stack.tweets.create(alice, NewTweet(content="no tag here"))
    rusty = stack.tweets.create(alice, NewTweet(content="and #Rust"))
    drain(stack)
    updates = mastodon_events(stack, "m-reader", "update")
    assert [(e["stream"], json.loads(e["payload"])["id"]) for e in updates] == [
        (["hashtag", "python"], tagged["tweet_id"]),
        (["hashtag:local", "rust"], rusty["tweet_id"]),
    ]


def test_deleted_tweets_are_delete_events_for_mastodon_and_nothing_for_chirp(stack: Container) -> None:
    alice, bob, tagger = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "tagger")
    stack.social.follow(bob, "alice")
    posted = stack.tweets.create(alice, NewTweet(content="oops #typo"))
    drain(stack)
    stack.realtime.connect("m-bob", bob.user_id, mastodon={"stream": "user"})
    stack.realtime.connect("m-tag", tagger.user_id, mastodon={"stream": "hashtag", "tag": "typo"})
    stack.realtime.connect("c-bob", bob.user_id)
    stack.tweets.delete(alice, int(posted["tweet_id"]))
    drain(stack)
    assert mastodon_events(stack, "m-bob") == [{"event": "delete", "stream": ["user"], "payload": posted["tweet_id"]}]
    assert mastodon_events(stack, "m-tag", "delete") == [
        {"event": "delete", "stream": ["hashtag", "typo"], "payload": posted["tweet_id"]}
    ]
    assert pusher(stack).sent.get("c-bob", []) == []


def test_notifications_reach_user_and_notification_streams_with_their_status(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.realtime.connect("m-all", alice.user_id, mastodon={"stream": "user"})
    stack.realtime.connect("m-notes", alice.user_id, mastodon={"stream": "user:notification"})
    stack.social.follow(alice, "bob")  # alice follows bob: m-notes must not get bob's updates
    posted = stack.tweets.create(alice, NewTweet(content="like me"))
    drain(stack)
    stack.social.follow(bob, "alice")
    stack.tweets.set_like(bob, int(posted["tweet_id"]), on=True)
    stack.tweets.create(bob, NewTweet(content="not a notification"))
    drain(stack)
    notes = mastodon_events(stack, "m-notes")
    assert {e["event"] for e in notes} == {"notification"}
    assert all(e["stream"] == ["user:notification"] for e in notes)
    payloads = {n["type"]: n for n in (json.loads(e["payload"]) for e in notes)}
    assert payloads["follow"]["account"]["username"] == "bob" and payloads["follow"]["status"] is None
    assert payloads["favourite"]["status"]["id"] == posted["tweet_id"]
    assert {json.loads(e["payload"])["type"] for e in mastodon_events(stack, "m-all", "notification")} == {
        "follow",
        "favourite",
    }
    assert all(e["stream"] == ["user"] for e in mastodon_events(stack, "m-all", "notification"))


def test_celebrity_tweets_reach_mastodon_user_streams(celebrity_stack: Container) -> None:
    c = celebrity_stack
    celeb, f1, f2 = signup(c, "celeb"), signup(c, "fan1"), signup(c, "fan2")
    c.social.follow(f1, "celeb")
    c.social.follow(f2, "celeb")  # two followers: a celebrity, merged on read, pushed by subscription
    drain(c)
    c.realtime.connect("m-f1", f1.user_id, mastodon={})
    send(c, "m-f1", f1.user_id, {"type": "subscribe", "stream": "user"})
    posted = c.tweets.create(celeb, NewTweet(content="hello fans"))
    drain(c)
    assert [json.loads(e["payload"])["id"] for e in mastodon_events(c, "m-f1", "update")] == [posted["tweet_id"]]


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"type": "subscribe", "stream": "public"}, "Unknown stream type"),
        ({"type": "subscribe", "stream": "hashtag"}, "No tag for stream provided"),
        ({"type": "subscribe", "stream": "hashtag", "tag": "not a tag!"}, "A tag is"),
    ],
)
def test_bad_subscriptions_are_answered_with_mastodons_error_event(
    stack: Container, message: dict[str, Any], error: str
) -> None:
    bob = signup(stack, "bob")
    stack.realtime.connect("m-bob", bob.user_id, mastodon={})
    send(stack, "m-bob", bob.user_id, message)
    (reply,) = pusher(stack).sent["m-bob"]
    assert reply["status"] == 400 and str(reply["error"]).startswith(error)


def test_a_chirp_connection_cannot_subscribe_and_keeps_its_protocol(stack: Container) -> None:
    bob = signup(stack, "bob")
    stack.realtime.connect("c-bob", bob.user_id)
    send(stack, "c-bob", bob.user_id, {"type": "subscribe", "stream": "user"})
    send(stack, "c-bob", bob.user_id, {"action": "ping"})
    first, second = pusher(stack).sent["c-bob"]
    assert first["status"] == 400 and "Chirp's protocol" in str(first["error"])
    assert second == {"type": "pong"}


def test_connect_picks_the_protocol_from_the_query_and_refuses_unknown_streams(stack: Container) -> None:
    bob = signup(stack, "bob")
    authorizer = {"principalId": str(bob.user_id), "user_id": str(bob.user_id)}

    def connect(connection_id: str, query: dict[str, str], scope: str | None = None) -> dict[str, Any]:
        context = {**authorizer, **({"scope": scope} if scope else {})}
        return dispatch(
            events.websocket_event(route_key="$connect", connection_id=connection_id, query=query, authorizer=context)
        )

    assert connect("chirp", {"token": "t"}) == {"statusCode": 200}
    assert connect("masto", {"access_token": "t", "stream": "user"}) == {"statusCode": 200}
    assert connect("header", {}) == {"statusCode": 200}  # Mastodon.py: the token in the Authorization header
    assert connect("bogus", {"stream": "public"})["statusCode"] == 400
    assert connect("no-read", {"stream": "user"}, scope="write follow")["statusCode"] == 403
    assert connect("read", {"stream": "user"}, scope="read write")["statusCode"] == 200
    listeners = stack.stores.connections.listeners_of([bob.user_id])
    assert listeners.chirp == ["chirp"]
    assert listeners.mastodon == {"user": ["masto", "read"]}
    with pytest.raises(StreamingError):
        stack.realtime.connect("x", bob.user_id, mastodon={"stream": "direct"})


def test_a_gone_mastodon_connection_leaves_its_streams(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.realtime.connect("m-bob", bob.user_id, mastodon={"stream": "hashtag", "tag": "news"})
    pusher(stack).gone.add("m-bob")
    stack.tweets.create(alice, NewTweet(content="#news at ten"))
    drain(stack)
    assert stack.stores.connections.tag_listeners(["news"]) == {}
