"""The design document's capacity estimate, recomputed from the seed scenario's inputs."""

import pytest

from chirp.capacity import Inputs, PriceTable, Scenario, plan
from chirp.capacity.traffic import derive_traffic


def test_seed_reproduces_the_design_docs_rates(seed: Scenario) -> None:
    # Given the seed scenario (400M daily users, 1.25 tweets, 10 timeline views, 20 likes each)
    # When its traffic is derived
    traffic = derive_traffic(seed, seed.design("chirp-default"))
    # Then the design document's per-second figures come out
    assert traffic.tweets_per_day == pytest.approx(500e6)
    assert traffic.tweets_per_s == pytest.approx(5_787, abs=1)  # "~5,800 tweets/sec"
    assert traffic.timeline_views_per_s == pytest.approx(46_296, abs=1)  # "~46,300 req/sec"
    assert traffic.likes_per_s == pytest.approx(92_593, abs=1)  # "~92,600 likes/sec"
    assert traffic.reads_per_day / 86_400 == pytest.approx(139_000, rel=0.01)  # "Total Read QPS: ~139K"
    assert traffic.writes_per_day / 86_400 == pytest.approx(115_000, rel=0.01)  # "Total Write QPS: ~115K"


def test_seed_reproduces_the_design_docs_storage_totals(seed: Scenario) -> None:
    # Given the seed scenario's 10-year retention, 1.5 KB tweets, 30% media of 2 MB
    # When its traffic is derived
    traffic = derive_traffic(seed, seed.design("chirp-default"))
    # Then tweets total 2.74 PB and media 1,095 PB (1.1 EB), users + graph ~10 TB
    assert traffic.tweets_stored_bytes / 1e15 == pytest.approx(2.74, abs=0.005)
    assert traffic.media_stored_bytes / 1e15 == pytest.approx(1_095, abs=0.5)
    assert (traffic.users_stored_bytes + traffic.graph_stored_bytes) / 1e12 == pytest.approx(10.56, abs=0.01)


def test_per_follower_rows_are_about_100_billion_writes_a_day(
    seed: Scenario, prices: PriceTable, assumed: Inputs
) -> None:
    # Given the design document's way: a Keyspaces home_timeline row per follower per tweet
    result = plan(seed, prices, "design-doc", assumed)
    # When the home_timeline write line is read
    rows = result.line("Keyspaces", "writes: home_timeline rows")
    per_day = rows.quantity / (prices.hours_per_month / 24)
    # Then it is ~100 billion 1 KB writes a day, and millions of dollars a month on demand
    assert per_day == pytest.approx(100e9, rel=0.01)
    assert rows.monthly_usd > 1_000_000


def test_only_active_followers_shrink_the_fan_out(seed: Scenario) -> None:
    # Given the same tweets fanned out to every follower, then only to the monthly-active ones
    everyone = derive_traffic(seed, seed.design("design-doc"))
    active = derive_traffic(seed, seed.design("chirp-default"))
    # Then deliveries shrink by monthly-active / registered
    share = seed.users.monthly_active / seed.users.registered
    assert active.timeline_deliveries_per_day == pytest.approx(everyone.timeline_deliveries_per_day * share)


def test_media_priced_as_exabytes_not_petabytes(seed: Scenario, prices: PriceTable, assumed: Inputs) -> None:
    # Given all media in S3 Standard (the design document's choice)
    result = plan(seed, prices, "chirp-default", assumed)
    # When the media storage line is costed
    storage = result.line("S3 media", "Standard storage")
    # Then it is tens of millions a month, three orders above the document's $25,300, and not core
    assert storage.monthly_usd > 20_000_000
    assert not storage.core
