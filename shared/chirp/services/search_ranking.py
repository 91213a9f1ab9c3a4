"""Ranking for type=top: text relevance 40%, recency 30%, engagement 20%, author authority 10% (the design's
weights). Every factor is normalized to [0, 1] so the weights mean what they say."""

from __future__ import annotations

import math

WEIGHTS = {"text": 0.4, "recency": 0.3, "engagement": 0.2, "authority": 0.1}
RECENCY_HALF_LIFE_S = 3 * 24 * 3600


def top_score(*, text: float, max_text: float, age_s: float, likes: int, retweets: int, followers: int) -> float:
    text_part = text / max_text if max_text > 0 else 0.0
    recency = math.pow(0.5, max(0.0, age_s) / RECENCY_HALF_LIFE_S)
    engagement = min(1.0, math.log1p(likes + 2 * retweets) / math.log1p(10_000))
    authority = min(1.0, math.log1p(followers) / math.log1p(10_000_000))
    return (
        WEIGHTS["text"] * text_part
        + WEIGHTS["recency"] * recency
        + WEIGHTS["engagement"] * engagement
        + WEIGHTS["authority"] * authority
    )
