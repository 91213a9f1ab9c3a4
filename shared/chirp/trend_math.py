"""Trend scoring, pure math below both the services and the trend stores: exponential time decay with a half-life,
and per-author weights that blunt spam."""

from __future__ import annotations

import math


def decayed_weight(weight: float, age_ms: int, half_life_s: float) -> float:
    """A contribution's weight after ``age_ms``: halves every ``half_life_s`` seconds."""
    return weight * math.pow(0.5, max(0, age_ms) / 1000 / half_life_s)


def author_weight(*, account_age_days: float, followers: int, following: int) -> float:
    """How much one author's tweet counts toward a trend, in [0.1, 2.0].

    New accounts and accounts that follow far more than follow them (bot-like) count less; established accounts
    with an audience count more.
    """
    weight = 1.0
    if account_age_days < 1:
        weight *= 0.3
    elif account_age_days < 30:
        weight *= 0.6
    if following > 10 * max(followers, 1) and following > 50:
        weight *= 0.3
    if followers >= 10_000:
        weight *= 1.5
    elif followers >= 100:
        weight *= 1.2
    return max(0.1, min(weight, 2.0))
