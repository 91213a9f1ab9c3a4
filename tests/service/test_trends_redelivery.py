"""A store outage while the trender counts a tweet must not lose the tweet's trend: the batch is redelivered after
the outage (the event source mapping retries it), and the redelivery must count what the failed attempt did not —
once. (Found by the store-outage fault tests once they asserted every consumer's effects.)"""

from __future__ import annotations

from typing import Any

import pytest

from chirp.container import Container
from chirp.ports import StoreUnavailable
from chirp.services.tweets import NewTweet
from support.stack import signup


def trend_tags(c: Container) -> dict[str, int]:
    c.trends._cache.clear()  # read fresh, not the refresh-interval cache
    return {t["hashtag"]: t["tweet_count"] for t in c.trends.top()["trends"]}


@pytest.mark.parametrize(("store", "method"), [("graph", "counts"), ("users", "get")])
def test_a_trend_that_failed_on_an_outage_counts_once_when_redelivered(
    stack: Container, monkeypatch: pytest.MonkeyPatch, store: str, method: str
) -> None:
    """Given a new tweet with a hashtag
    When counting it fails because the graph (or the user records) is unavailable, and it is then redelivered twice
    Then the hashtag trends with exactly that one tweet."""
    author = signup(stack, "outage_author")
    created = stack.tweets.create(author, NewTweet(content="#weathered the storm"))
    tweet = stack.stores.tweets.get(int(created["tweet_id"]))
    assert tweet is not None
    target = getattr(stack.stores, store)
    real = getattr(target, method)
    failures = iter([StoreUnavailable(f"{store} is down")])

    def flaky(*args: Any, **kwargs: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(target, method, flaky)
    with pytest.raises(StoreUnavailable):
        stack.trends.record(tweet)
    stack.trends.record(tweet)  # the redelivery after the outage
    stack.trends.record(tweet)  # and a duplicate delivery: still once
    assert trend_tags(stack).get("weathered") == 1
