"""Localized trends (chirp.services.trends): a hashtag counts worldwide and in its author's place (the profile's),
under the same decay and spam rules; ``top(place=...)`` reads one place, and an unknown place is a 400."""

import pytest

from chirp.container import Container
from chirp.errors import ValidationFailed
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, signup


def placed(c: Container, name: str, place: str | None) -> Principal:
    user = signup(c, name)
    record = c.stores.users.get(user.user_id)
    assert record is not None
    record.place = place
    c.stores.users.update(record)
    return user


def tags(c: Container, place: str | None = None) -> dict[str, int]:
    c.trends._cache.clear()  # read fresh, not the refresh-interval cache
    return {t["hashtag"]: t["tweet_count"] for t in c.trends.top(place=place)["trends"]}


def test_hashtags_trend_in_their_authors_place_and_worldwide(stack: Container) -> None:
    paris = [placed(stack, f"paris{i}", "FR") for i in range(3)]
    berlin = placed(stack, "berlin", "DE")
    nowhere = placed(stack, "nowhere", None)
    for i, user in enumerate(paris):
        stack.tweets.create(user, NewTweet(content=f"#baguette morning {i}"))
    stack.tweets.create(berlin, NewTweet(content="#brezel time"))
    stack.tweets.create(nowhere, NewTweet(content="#anywhere at all"))
    drain(stack)
    assert tags(stack) == {"baguette": 3, "brezel": 1, "anywhere": 1}
    assert tags(stack, "FR") == {"baguette": 3}
    assert tags(stack, "de") == {"brezel": 1}  # any case
    assert tags(stack, "JP") == {}
    assert tags(stack, "") == tags(stack)  # empty: worldwide
    assert stack.trends.top(place="FR")["place"] == "FR"


def test_a_place_has_the_same_spam_resistance(stack: Container) -> None:
    spammer = placed(stack, "spammer", "FR")
    for i in range(5):
        stack.tweets.create(spammer, NewTweet(content=f"#buynow offer {i}"))
    tweet_id = int(stack.tweets.create(spammer, NewTweet(content="#gone soon"))["tweet_id"])
    drain(stack)
    assert tags(stack, "FR")["buynow"] == 1  # one author counts once per hashtag per window, in a place too
    stack.tweets.delete(spammer, tweet_id)
    drain(stack)
    assert "gone" not in tags(stack, "FR") and "gone" not in tags(stack)


@pytest.mark.parametrize("place", ["XX", "FRA", "1", "world"])
def test_an_unknown_place_is_a_400(stack: Container, place: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        stack.trends.top(place=place)
    assert refused.value.code == "unknown_place"
