"""The committed price table is sourced and dated, and tiered prices are applied band by band."""

import pytest

from chirp.capacity import PriceTable
from chirp.capacity.prices import parse_prices


def test_every_price_has_a_source_and_a_date(prices: PriceTable) -> None:
    # Given the committed price table
    # Then every entry names an AWS public pricing page and the date it was read
    assert prices.prices
    for key, price in prices.prices.items():
        assert price.source.startswith("https://aws.amazon.com/"), key
        assert price.date == "2026-11", key
        assert price.unit, key


def test_tiered_price_charges_each_band_at_its_rate(prices: PriceTable) -> None:
    # Given API Gateway REST tiers (333M at $3.50/M, 667M at $2.80/M, 19B at $2.38/M, then $1.51/M)
    # When 21 billion requests are costed
    cost = prices.cost("apigw.rest.requests", 21e9)
    # Then each band is charged at its own rate
    assert cost == pytest.approx(333 * 3.50 + 667 * 2.80 + 19_000 * 2.38 + 1_000 * 1.51)


def test_flat_price_scales_with_per(prices: PriceTable) -> None:
    # Given Lambda requests at $0.20 per million
    # Then 5 billion requests cost $1,000
    assert prices.cost("lambda.requests", 5e9) == pytest.approx(1_000)


def test_a_price_without_source_is_rejected() -> None:
    # Given an entry with no source
    data = {
        "currency": "USD",
        "region": "us-east-1",
        "hours_per_month": 730,
        "prices": {"x": {"service": "S3", "unit": "GiB-month", "per": 1, "price": 0.023, "date": "2026-11"}},
    }
    # Then loading fails and names the missing field
    with pytest.raises(ValueError, match="source"):
        parse_prices(data)


def test_unknown_price_key_is_a_clear_error(prices: PriceTable) -> None:
    with pytest.raises(KeyError, match="no entry 'nope'"):
        prices.cost("nope", 1)
