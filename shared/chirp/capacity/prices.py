"""The price table: public list prices, each with its unit, the date it was read and its source page.

A price is either flat (``price`` per ``per`` units) or tiered (``tiers``: monthly volume bands, each
priced per ``per`` units, the last band open-ended). Volumes and band limits are in the entry's base
unit (requests, GB-seconds, GiB, hours ...), so ``cost(key, quantity)`` needs no unit conversion.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: float | None = Field(description="cumulative monthly volume where this band ends; None = no limit")
    price: float = Field(ge=0)


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    unit: str = Field(min_length=1, description="what one base unit is, e.g. 'request' or 'GiB-month'")
    per: float = Field(gt=0, description="the price is per this many base units")
    price: float | None = Field(default=None, ge=0)
    tiers: list[Tier] | None = None
    date: str = Field(description="when the price was read (YYYY-MM or YYYY-MM-DD)")
    source: str = Field(description="public page the price was read from")
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> Price:
        if (self.price is None) == (self.tiers is None):
            raise ValueError("give exactly one of price or tiers")
        if self.tiers is not None:
            limits = [t.up_to for t in self.tiers]
            if limits[-1] is not None or any(limit is None for limit in limits[:-1]):
                raise ValueError("only the last tier may (and must) be open-ended")
            bounded = [limit for limit in limits if limit is not None]
            if bounded != sorted(bounded):
                raise ValueError("tier limits must increase")
        if not _DATE.match(self.date):
            raise ValueError(f"date {self.date!r} is not YYYY-MM or YYYY-MM-DD")
        if not self.source.startswith("https://"):
            raise ValueError(f"source {self.source!r} is not an https URL")
        return self

    def cost(self, quantity: float) -> float:
        """Monthly cost in USD of ``quantity`` base units in one month."""
        if quantity < 0:
            raise ValueError(f"negative quantity {quantity}")
        if self.price is not None:
            return quantity / self.per * self.price
        assert self.tiers is not None
        total, floor = 0.0, 0.0
        for tier in self.tiers:
            ceiling = tier.up_to if tier.up_to is not None else float("inf")
            in_band = max(0.0, min(quantity, ceiling) - floor)
            total += in_band / self.per * tier.price
            floor = ceiling
            if quantity <= ceiling:
                break
        return total


class Commitments(BaseModel):
    """Discounts for committed use (savings plans, reserved nodes): per term, price-key prefix -> share off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    terms: dict[str, dict[str, float]]

    @model_validator(mode="after")
    def _shares(self) -> Commitments:
        for term, discounts in self.terms.items():
            for prefix, share in discounts.items():
                if not 0 <= share < 1:
                    raise ValueError(f"commitment {term} {prefix}: discount {share} is not in [0, 1)")
        return self

    def discount(self, term: str, price_key: str) -> float:
        """The share off ``price_key`` under ``term`` ("none" or unknown prefixes: 0)."""
        if term == "none":
            return 0.0
        if term not in self.terms:
            raise ValueError(f"no commitment term {term!r}; the price table has {sorted(self.terms)}")
        matches = [share for prefix, share in self.terms[term].items() if price_key.startswith(prefix)]
        return max(matches, default=0.0)


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str
    region: str
    hours_per_month: float = Field(gt=0)
    prices: dict[str, Price]
    commitments: Commitments = Commitments(source="", terms={})

    def __getitem__(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise KeyError(f"price table has no entry {key!r}") from None

    def cost(self, key: str, quantity: float) -> float:
        return self[key].cost(quantity)


def parse_prices(data: Any) -> PriceTable:
    try:
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"invalid price table: {exc}") from exc


def load_prices(path: Path) -> PriceTable:
    """Read and validate a price table YAML file."""
    with path.open(encoding="utf-8") as handle:
        return parse_prices(yaml.safe_load(handle))
