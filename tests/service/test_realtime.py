"""Real-time push to online followers (ordinary authors via the fan-out pages, celebrities via subscriptions),
notifications pushed live, and cleanup of connections that are gone."""

from chirp.container import Container
from chirp.services.tweets import NewTweet
from support.stack import drain, pusher, signup


def test_online_followers_and_the_author_receive_new_tweets(stack: Container) -> None:
    alice, bob, carol = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "carol")
    stack.social.follow(bob, "alice")
    for conn, user in (("c-alice", alice), ("c-bob", bob), ("c-carol", carol)):
        stack.realtime.connect(conn, user.user_id)
    stack.tweets.create(alice, NewTweet(content="live!"))
    drain(stack)
    p = pusher(stack)
    assert [m["tweet"]["content"] for m in p.of_type("c-bob", "new_tweet")] == ["live!"]  # type: ignore[index]
    assert len(p.of_type("c-alice", "new_tweet")) == 1
    assert p.of_type("c-carol", "new_tweet") == []


def test_celebrity_tweets_reach_subscribed_followers(celebrity_stack: Container) -> None:
    c = celebrity_stack
    celeb, f1, f2 = signup(c, "celeb"), signup(c, "fan1"), signup(c, "fan2")
    c.social.follow(f1, "celeb")
    c.realtime.connect("c-f1", f1.user_id)  # connects before celeb is a celebrity
    c.social.follow(f2, "celeb")  # now celeb has 2 followers: a celebrity; f2 is not online yet
    c.realtime.connect("c-f2", f2.user_id)
    c.tweets.create(celeb, NewTweet(content="hello fans"))
    drain(c)
    p = pusher(c)
    assert len(p.of_type("c-f2", "new_tweet")) == 1
    # A connection opened before its followee crossed the threshold subscribes on its next connect.
    c.realtime.disconnect("c-f1")
    c.realtime.connect("c-f1b", f1.user_id)
    c.tweets.create(celeb, NewTweet(content="second"))
    drain(c)
    assert [m["tweet"]["content"] for m in p.of_type("c-f1b", "new_tweet")] == ["second"]  # type: ignore[index]
    assert c.stores.timelines.page(f1.user_id, before=None, after=None, limit=5) in (None, [])  # O(1) writes


def test_a_gone_connection_is_unregistered_on_push(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    stack.realtime.connect("stale", bob.user_id)
    pusher(stack).gone.add("stale")
    stack.tweets.create(alice, NewTweet(content="anyone there?"))
    drain(stack)
    assert stack.stores.connections.connections_of([bob.user_id]) == {}


def test_notifications_are_pushed_with_the_unread_count(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.realtime.connect("c-alice", alice.user_id)
    stack.social.follow(bob, "alice")
    drain(stack)
    pushed = pusher(stack).of_type("c-alice", "notification")
    assert len(pushed) == 1
    assert pushed[0]["notification"]["type"] == "follow"  # type: ignore[index]
    assert pushed[0]["unread_count"] == 1
    assert stack.notifications.mark_read(alice, up_to=None) == {"marked": 1, "unread_count": 0}
