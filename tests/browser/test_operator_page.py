"""The operator page (web/operator.html) shows the local runtime's metrics: the design's monitoring table as cards
with live values, and every metric the functions emitted."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from chirp.observability.catalog import MONITORING

from .conftest import Browsers, Chirp, screenshot


def test_operator_page_charts_the_monitoring_table(chirp: Chirp, browsers: Browsers) -> None:
    author, reader = chirp.signup("opauthor"), chirp.signup("opreader")
    chirp.follow(reader, author)
    chirp.call("GET", "/timeline/home", reader)  # a miss: the timeline is rebuilt
    chirp.tweet(author, "watched by the operator #ops")
    chirp.wait_until(
        "the tweet in the reader's home", lambda: bool(chirp.call("GET", "/timeline/home", reader)["tweets"])
    )

    page = browsers.page()
    page.goto("/operator.html")
    for row in MONITORING:
        expect(page.get_by_role("region", name=row.label)).to_be_visible()
    expect(page.get_by_role("img", name="Timeline cache hit rate chart")).to_be_visible()
    # The rebuild was a miss, the reads that found the tweet hits (other tests' reads may share the window).
    snapshot = chirp.http.get(f"{chirp.base_url}/_chirp/metrics").json()
    cache = next(row for row in snapshot["monitoring"] if row["key"] == "CacheHitRate")
    assert cache["samples"] >= 2 and 0 < cache["value"] < 100
    hit_rate = page.get_by_role("region", name="Timeline cache hit rate").locator("output")
    expect(hit_rate).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
    post = page.get_by_role("region", name="Tweet post latency p95")
    expect(post.locator("output")).to_contain_text("ms")
    expect(post.locator(".badge")).to_contain_text(re.compile(r"[1-9]\d* samples"))
    for metric in ("RequestLatency", "StoreLatency", "DeliveryLag", "IndexingLag", "FanoutAudience"):
        expect(page.locator(f'#metrics tr[data-metric="{metric}"]').first).to_be_visible()
    page.wait_for_timeout(4_500)  # two more refreshes: the charts show a line
    screenshot(page, "desktop-operator")
    assert not browsers.errors
