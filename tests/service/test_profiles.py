"""Profiles (edit, display on tweets, avatar), the likes tab, password change, and account deletion erased through
the stream, on the embedded stack."""

from __future__ import annotations

import dataclasses
import io
import time

import pytest
from PIL import Image

from chirp.authorization import authorize
from chirp.container import Container, NotUsed
from chirp.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from chirp.local import events
from chirp.model import AccountDeleted, Event, EventType, SafetySets
from chirp.query import parse_query
from chirp.services import erasure
from chirp.services.avatars import avatar_key
from chirp.services.notifications import NotificationService
from chirp.services.tweets import NewTweet
from chirp.services.views import TweetHydrator
from chirp.tokens import Principal
from support.stack import drain, signup

PASSWORD = "password-123"  # support.stack.signup's


def settle(c: Container) -> None:
    """Drain until the consumers publish nothing more (the eraser's tweet_deleted events reach the indexer, ...)."""
    for _ in range(10):
        if not drain(c):
            return
    raise AssertionError("the stream did not settle")


def s_before(c: Container, user_id: int) -> SafetySets:
    return c.stores.graph.safety_sets(user_id, limit=10)


def _tweet(c: Container, who: Principal, content: str, **kw: object) -> int:
    return int(c.tweets.create(who, NewTweet(content=content, **kw))["tweet_id"])  # type: ignore[arg-type]


# -- profile fields ----------------------------------------------------------------------------------------------


def test_an_edit_shows_at_once_on_the_profile_and_on_every_tweet(stack: Container) -> None:
    ada, bob = signup(stack, "ada"), signup(stack, "bob")
    tweet_id = _tweet(stack, ada, "hello")
    assert stack.tweets.get(bob, tweet_id)["display_name"] == "ada"  # the card is cached now
    me = stack.profiles.update(ada, display_name="  Ada Lovelace ", bio="Engines\nand poems", place="gb")
    assert (me["display_name"], me["bio"], me["place"]) == ("Ada Lovelace", "Engines\nand poems", "GB")
    assert me["email"] == "ada@example.com" and me["avatar_url"] is None
    assert stack.tweets.get(bob, tweet_id)["display_name"] == "Ada Lovelace"  # not the cached card
    assert stack.social.profile(bob, "ada")["bio"] == "Engines\nand poems"
    # Only what is sent changes; "" clears the bio and makes the place worldwide
    me = stack.profiles.update(ada, bio="", place="")
    assert (me["display_name"], me["bio"], me["place"]) == ("Ada Lovelace", "", None)
    settle(stack)  # user search finds the new display name
    assert stack.stores.search.search_users("ada lov", limit=5) == [ada.user_id]
    assert stack.stores.users.get(ada.user_id).place is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"display_name": "\u200b\u200d "}, "display_name_invisible"),
        ({"display_name": "   "}, "invalid_display_name"),
        ({"display_name": "x" * 51}, "invalid_display_name"),
        ({"bio": "\u2063\ufeff"}, "bio_invisible"),
        ({"bio": "b" * 401}, "invalid_bio"),
        ({"place": "XX"}, "invalid_place"),
        ({"place": "Narnia"}, "invalid_place"),
    ],
)
def test_invisible_or_invalid_fields_are_refused_and_change_nothing(
    stack: Container, fields: dict[str, str], code: str
) -> None:
    ada = signup(stack, "ada")
    with pytest.raises(ValidationFailed) as err:
        stack.profiles.update(ada, **fields)
    assert err.value.code == code
    assert stack.profiles.me(ada)["display_name"] == "ada"


def _ready_image(c: Container, owner: Principal) -> str:
    """An uploaded and processed PNG of ``owner``'s (the media path's own steps)."""
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 30, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    upload = c.media.create_upload(owner, content_type="image/png", size=len(data))
    record = c.stores.media.get_many([upload["media_id"]])[upload["media_id"]]
    c.stores.objects.put(record.key, data, "image/png")
    assert c.media.process_upload(record.key) == "ready"
    return upload["media_id"]


def test_an_avatar_is_the_callers_processed_image_and_shows_on_tweets(stack: Container) -> None:
    ada, bob = signup(stack, "ada"), signup(stack, "bob")
    tweet_id = _tweet(stack, ada, "with a face")
    media_id = _ready_image(stack, ada)
    me = stack.profiles.update(ada, avatar_media_id=media_id)
    assert me["avatar_media_id"] == media_id and set(me["avatar_urls"]) == {"48", "96", "400"}
    assert me["avatar_url"] == me["avatar_urls"]["96"]
    assert stack.tweets.get(bob, tweet_id)["avatar_url"] == me["avatar_url"]
    assert stack.social.profile(None, "ada")["avatar_url"] == me["avatar_url"]
    crop = stack.stores.objects.read(avatar_key(ada.user_id, media_id, 96))
    assert crop is not None and Image.open(io.BytesIO(crop[0])).size == (96, 96)
    # Another's image, or one that does not exist, is not an avatar
    with pytest.raises(NotFound):
        stack.profiles.update(bob, avatar_media_id=media_id)
    with pytest.raises(NotFound):
        stack.profiles.update(bob, avatar_media_id="0" * 32)
    # "" removes it
    assert stack.profiles.update(ada, avatar_media_id="")["avatar_url"] is None
    assert stack.tweets.get(bob, tweet_id)["avatar_url"] is None


def test_names_and_avatars_show_in_functions_without_an_object_store_or_cache(stack: Container) -> None:
    """A deployed function builds only the clients its wiring entry uses (the others are NotUsed, which raises when
    touched): the timeline and search functions have no object store, notifications neither nor a cache. Avatars
    and the deleted-account check must not need them."""
    ada, bob = signup(stack, "ada"), signup(stack, "bob")
    stack.social.follow(bob, "ada")
    tweet_id = _tweet(stack, ada, "with a face @bob")
    url = stack.profiles.update(ada, avatar_media_id=_ready_image(stack, ada))["avatar_url"]
    assert url is not None and url.startswith(stack.settings.media_url_base + "/media/")
    drain(stack)
    s = stack.stores
    without_media = dataclasses.replace(s, objects=NotUsed("timeline", "media"))
    [shown] = TweetHydrator(without_media).by_ids(bob.user_id, [tweet_id])
    assert shown["avatar_url"] == url and shown["display_name"]
    bare = dataclasses.replace(
        s, objects=NotUsed("notifications", "media"), tweet_cache=NotUsed("notifications", "cache")
    )
    notes = NotificationService(bare, stack.realtime).list(bob, before=None, count=10)["notifications"]
    assert [n["type"] for n in notes] == ["mention"]


def test_an_image_still_processing_is_a_409(stack: Container) -> None:
    ada = signup(stack, "ada")
    upload = stack.media.create_upload(ada, content_type="image/png", size=100)
    with pytest.raises(Conflict):
        stack.profiles.update(ada, avatar_media_id=upload["media_id"])


def test_me_is_reserved_as_a_username(stack: Container) -> None:
    with pytest.raises(Conflict):
        signup(stack, "Me")


# -- likes tab -----------------------------------------------------------------------------------------------------


def test_the_likes_tab_lists_newest_like_first_and_drops_deleted_tweets(stack: Container) -> None:
    ada, bob = signup(stack, "ada"), signup(stack, "bob")
    tweets = [_tweet(stack, bob, f"tweet {i}") for i in range(5)]
    for tweet_id in (tweets[2], tweets[0], tweets[4], tweets[1]):  # liked in this order
        stack.tweets.set_like(ada, tweet_id, on=True)
        time.sleep(0.002)  # distinct like times
    stack.tweets.delete(bob, tweets[4])
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(4):
        page = stack.profiles.likes(bob, "ada", cursor=cursor, count=2)
        assert len(page["tweets"]) <= 2 and page["has_more"] == (page["next_cursor"] is not None)
        seen += [t["tweet_id"] for t in page["tweets"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(tweets[1]), str(tweets[0]), str(tweets[2])]  # newest like first; the deleted tweet gone
    assert stack.profiles.likes(bob, "ada", cursor=None, count=1)["tweets"][0]["liked_by_user"] is False  # bob's
    with pytest.raises(NotFound):
        stack.profiles.likes(bob, "nobody", cursor=None, count=10)
    with pytest.raises(ValidationFailed):
        stack.profiles.likes(bob, "ada", cursor="not-a-cursor", count=10)


# -- password ------------------------------------------------------------------------------------------------------


def test_a_password_change_revokes_older_tokens_and_answers_a_new_one(stack: Container) -> None:
    ada = signup(stack, "ada")
    old_token = stack.auth.login(username="ada", password=PASSWORD)["token"]
    with pytest.raises(Forbidden) as wrong:
        stack.auth.change_password(ada, current_password="wrong-password", new_password="new-password-456")
    assert wrong.value.code == "wrong_password"
    with pytest.raises(ValidationFailed):
        stack.auth.change_password(ada, current_password=PASSWORD, new_password="short")
    changed = stack.auth.change_password(ada, current_password=PASSWORD, new_password="new-password-456")
    with pytest.raises(Unauthorized) as err:
        stack.auth.current(stack.tokens.verify(old_token))
    assert err.value.code == "token_revoked"
    assert stack.auth.current(stack.tokens.verify(changed["token"])).user_id == ada.user_id
    with pytest.raises(Unauthorized):
        stack.auth.login(username="ada", password=PASSWORD)
    assert stack.auth.login(username="ada", password="new-password-456")["user_id"] == str(ada.user_id)


# -- account deletion ----------------------------------------------------------------------------------------------


def test_nothing_of_a_deleted_account_is_readable_and_its_name_is_free(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure, "BATCH", 2)  # every stage takes several rounds through the stream
    ada, bob, cy = signup(stack, "ada"), signup(stack, "bob"), signup(stack, "cy")
    token = stack.auth.login(username="ada", password=PASSWORD)["token"]
    for follower in (bob, cy):
        stack.social.follow(follower, "ada")
    stack.social.follow(ada, "bob")
    stack.social.follow(ada, "cy")
    stack.feed.rebuild(bob.user_id)
    bobs = _tweet(stack, bob, "bob speaks")
    ada_tweets = [_tweet(stack, ada, f"#adatag thought {i} @bob") for i in range(5)]
    reply = _tweet(stack, ada, "a reply", reply_to=bobs)
    stack.tweets.set_like(ada, bobs, on=True)
    stack.tweets.set_retweet(ada, bobs, on=True)
    stack.tweets.set_like(bob, ada_tweets[0], on=True)
    stack.tweets.bookmark(ada, bobs)
    media = [stack.stores.media.get_many([m])[m] for m in (_ready_image(stack, ada) for _ in range(3))]
    media_keys = [k for m in media for k in (m.key, m.rendition_key, m.thumbnail_key) if k]
    assert media_keys and all(stack.stores.objects.head(k) for k in media_keys if k not in {m.key for m in media})
    dee = signup(stack, "dee")
    stack.blocks.set_block(dee, "ada", on=True)
    stack.blocks.set_mute(ada, "dee", on=True)
    assert s_before(stack, dee.user_id) == SafetySets(
        blocking=frozenset({ada.user_id}), muted_by=frozenset({ada.user_id})
    )
    drain(stack)
    stack.stores.search.refresh()
    assert len(stack.stores.search.search(parse_query("thought"), limit=20, before=None, order="recent")) == 5
    assert any(
        n["actor"]["username"] == "ada" for n in stack.notifications.list(bob, before=None, count=50)["notifications"]
    )
    home_before = stack.feed.home(bob.user_id, before=None, after=None, count=50)
    assert set(ada_tweets) <= set(home_before.tweet_ids)

    with pytest.raises(Forbidden):
        stack.profiles.delete_account(ada, password="wrong-password")
    assert stack.profiles.delete_account(ada, password=PASSWORD) == {"username": "ada", "deleted": True}
    # At once: no log-in, no token, no profile, no tweets in any read
    with pytest.raises(Unauthorized):
        stack.auth.login(username="ada", password=PASSWORD)
    with pytest.raises(Unauthorized):
        stack.auth.current(stack.tokens.verify(token))
    with pytest.raises(NotFound):
        stack.social.profile(bob, "ada")
    assert stack.tweets.hydrator.by_ids(bob.user_id, ada_tweets) == []

    settle(stack)
    stack.stores.search.refresh()
    s = stack.stores
    # Tweets: gone from the store, the author's index, search, trends and followers' timelines
    assert s.tweets.get_many([*ada_tweets, reply]) == {}
    assert s.tweets.author_tweet_ids(ada.user_id, before=None, limit=50) == []
    assert s.search.search(parse_query("thought"), limit=20, before=None, order="recent") == []
    stack.trends._cache.clear()
    assert "adatag" not in {t["hashtag"] for t in stack.trends.top()["trends"]}
    assert not set(ada_tweets) & set(s.timelines.page(bob.user_id, before=None, after=None, limit=100) or [])
    # Likes and replies counted down; the like rows gone both ways
    counts = s.engagement.counts([bobs])[bobs]
    assert (counts.likes, counts.retweets, counts.replies) == (0, 0, 0)
    assert s.engagement.likes_page(ada.user_id, cursor=None, limit=10).items == []
    assert s.engagement.liked_by(ada.user_id, [bobs]) == set()
    # Follows both ways
    assert s.graph.counts(ada.user_id) == (0, 0)
    assert s.graph.counts(bob.user_id) == (0, 0) and s.graph.counts(cy.user_id) == (0, 0)
    # Blocks and mutes, both ways
    assert stack.safety.sets(dee.user_id) == s.graph.safety_sets(dee.user_id, limit=10) == SafetySets()
    # Media: the records and every object of them (the uploads, renditions and thumbnails)
    assert s.media.owned_by(ada.user_id, limit=10) == []
    assert s.media.get_many([m.media_id for m in media]) == {}
    assert [k for k in media_keys if s.objects.head(k)] == []
    # Bookmarks, notifications to and from them
    assert s.engagement.bookmark_ids(ada.user_id, before=None, limit=10) == []
    assert s.notifications.page(ada.user_id, before=None, limit=10) == []
    bob_notes = stack.notifications.list(bob, before=None, count=50)["notifications"]
    assert all(n["actor"]["user_id"] != str(ada.user_id) for n in bob_notes)
    assert s.search.search_users("ada", limit=5) == []  # the user search document too
    # The name and address are free for someone new
    again = signup(stack, "ada")
    assert again.user_id != ada.user_id
    assert stack.social.profile(bob, "ada")["tweet_count"] == 0

    # A redelivered deletion (any stage) changes nothing and fails nothing
    for stage in (None, "tweets", "likes"):
        event = AccountDeleted(user_id=ada.user_id, username="ada", stage=stage)
        stack.stores.stream.publish([event.event(EventType.ACCOUNT_DELETED, ada.user_id)])
    settle(stack)
    assert stack.stores.users.get(again.user_id) is not None


def test_an_account_deleted_event_carries_its_stage_only_when_it_continues() -> None:
    first = AccountDeleted(user_id=7, username="ada", avatar_media_id="ab" * 16).event(EventType.ACCOUNT_DELETED, 7)
    assert first.data == {"user_id": 7, "username": "ada", "avatar_media_id": "ab" * 16}
    more = AccountDeleted.read(first).model_copy(update={"stage": "tweets"}).event(EventType.ACCOUNT_DELETED, 7)
    assert AccountDeleted.read(more).stage == "tweets" and more.partition_key == "7"
    with pytest.raises(TypeError):
        AccountDeleted.read(Event.new(EventType.USER_CREATED, 7, {}))


def test_the_authorizer_refuses_revoked_tokens_and_deleted_accounts(stack: Container) -> None:
    ada, bob = signup(stack, "ada"), signup(stack, "bob")

    def allowed(token: str) -> bool:
        event = events.token_authorizer_event(f"Bearer {token}", method="GET", resource="/api/v1/timeline/home")
        try:
            policy = authorize(event)
        except Exception:  # API Gateway's contract: "Unauthorized" is a 401
            return False
        return bool(policy["policyDocument"]["Statement"][0]["Effect"] == "Allow")

    old = stack.auth.login(username="ada", password=PASSWORD)["token"]
    bobs = stack.auth.login(username="bob", password=PASSWORD)["token"]
    assert allowed(old) and allowed(bobs)
    new = stack.auth.change_password(ada, current_password=PASSWORD, new_password="new-password-456")["token"]
    assert (allowed(old), allowed(new)) == (False, True)
    stack.profiles.delete_account(Principal(bob.user_id, "bob"), password=PASSWORD)
    assert not allowed(bobs)
