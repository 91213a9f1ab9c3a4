"""Invalid scenarios are rejected with an error that says what is wrong."""

import copy
from typing import Any

import pytest

from chirp.capacity import ScenarioError
from chirp.capacity.scenario import parse_scenario


def _with(seed_data: Any, **changes: Any) -> Any:
    data = copy.deepcopy(seed_data)
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return data


def test_the_seed_scenario_is_valid(seed_data: Any) -> None:
    scenario = parse_scenario(seed_data)
    assert {"design-doc", "chirp-default", "chirp-optimized"} <= set(scenario.designs)


def test_negative_daily_users_are_rejected(seed_data: Any) -> None:
    with pytest.raises(ScenarioError, match=r"users\.daily_active: Input should be greater than 0"):
        parse_scenario(_with(seed_data, users__daily_active=-1))


def test_follower_shares_must_sum_to_one(seed_data: Any) -> None:
    data = copy.deepcopy(seed_data)
    data["followers"]["distribution"][0]["tweet_share"] = 0.9
    with pytest.raises(ScenarioError, match="tweet_share must sum to 1"):
        parse_scenario(data)


def test_celebrity_threshold_must_be_a_bucket_boundary(seed_data: Any) -> None:
    with pytest.raises(ScenarioError, match="celebrity_threshold 50000 must be a bucket min_followers boundary"):
        parse_scenario(_with(seed_data, followers__celebrity_threshold=50_000))


def test_misspelt_key_is_rejected(seed_data: Any) -> None:
    with pytest.raises(ScenarioError, match=r"activity\.tweetz: Extra inputs are not permitted"):
        parse_scenario(_with(seed_data, activity__tweetz=1.0))


def test_design_override_with_an_unknown_value_names_the_design(seed_data: Any) -> None:
    data = copy.deepcopy(seed_data)
    data["designs"]["broken"] = {"api": "graphql"}
    with pytest.raises(ScenarioError, match=r"design 'broken': api: Input should be 'rest', 'http' or 'alb'"):
        parse_scenario(data)


def test_daily_users_cannot_exceed_monthly(seed_data: Any) -> None:
    with pytest.raises(ScenarioError, match="daily_active <= monthly_active <= registered"):
        parse_scenario(_with(seed_data, users__daily_active=900_000_000))
