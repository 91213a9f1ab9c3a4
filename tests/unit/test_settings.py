"""Settings: one description of the configuration, strict about what it is given, and no network at validation."""

from __future__ import annotations

import pytest

from chirp import wiring
from chirp.config import REQUIRED_FOR_RESOURCE, RESOURCE_SETTINGS, Settings, load_settings, unknown_variables
from chirp.container import NotUsed, build_servers


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("CHIRP_") or key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(key)


def test_an_unknown_chirp_variable_is_a_start_up_error_that_names_the_likely_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHIRP_REDIS_AUTH_SECRET", "arn:aws:secretsmanager:eu-west-1:1:secret:x")
    with pytest.raises(ValueError, match=r"CHIRP_REDIS_AUTH_SECRET \(did you mean CHIRP_REDIS_AUTH_SECRET_ARN\?\)"):
        load_settings()


def test_tool_variables_and_known_settings_pass() -> None:
    env = {"CHIRP_SERVERS_CACHE": "/tmp/x", "CHIRP_FUZZ_EXAMPLES": "3", "CHIRP_REDIS_URL": "rediss://h:6379/0"}
    assert unknown_variables(env) == []
    assert unknown_variables({"CHIRP_AWS_REGION": "eu-west-1"}) == ["CHIRP_AWS_REGION"]  # the region is AWS_REGION


def test_the_region_is_lambdas_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert load_settings().aws_region == "ap-southeast-2"


def test_every_resource_has_its_settings_declared() -> None:
    fields = set(Settings.model_fields)
    for resource in RESOURCE_SETTINGS:
        assert set(REQUIRED_FOR_RESOURCE[resource]) <= set(RESOURCE_SETTINGS[resource]) <= fields


@pytest.mark.parametrize("fn", [f for f in wiring.FUNCTIONS if f.uses], ids=lambda f: f.name)
def test_a_deployed_function_without_an_endpoint_it_uses_fails_at_cold_start(
    fn: wiring.Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No loopback default on AWS: each required setting of each resource the function uses, left out in turn,
    is a validation error naming it."""
    given = {"CHIRP_BACKEND": "aws", "CHIRP_FUNCTION": fn.name, "AWS_REGION": "eu-west-1"}
    required = {f"CHIRP_{n.upper()}": "x" for use in fn.uses for n in REQUIRED_FOR_RESOURCE[use]}
    required = {
        k: ("kinesis" if k == "CHIRP_STREAM_KIND" else "sigv4" if k == "CHIRP_OPENSEARCH_AUTH" else v)
        for k, v in required.items()
    }
    if fn.stream is not None:
        required["CHIRP_DEAD_LETTER_BUCKET"] = "x"  # a stream consumer quarantines poison records there
    for key, value in {**given, **required}.items():
        monkeypatch.setenv(key, value)
    assert load_settings().function == fn.name
    for missing in required:
        if missing == "CHIRP_JWT_SECRET_ARN":
            continue  # CHIRP_JWT_KEYS may stand in for it
        with monkeypatch.context() as patch:
            patch.delenv(missing)
            with pytest.raises(ValueError, match=missing):
                load_settings()


def test_a_deployed_function_builds_only_the_clients_its_wiring_entry_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trends function uses the cache (and the token keys, to check a signed-in reader's token) only: the graph,
    search, records, media and stream stay unbuilt, and touching one is reported as a wiring mistake (nothing
    connects at construction: no network here)."""
    for key, value in {
        "CHIRP_BACKEND": "aws",
        "CHIRP_FUNCTION": "trends",
        "AWS_REGION": "eu-west-1",
        "CHIRP_REDIS_URL": "rediss://cache.invalid:6379/0",
        "CHIRP_REDIS_AUTH_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:redis",
        "CHIRP_JWT_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:jwt",
    }.items():
        monkeypatch.setenv(key, value)
    container = build_servers(load_settings())
    for store in ("graph", "search", "users", "objects", "stream", "notifications"):
        assert isinstance(getattr(container.stores, store), NotUsed), store
        with pytest.raises(RuntimeError, match="function 'trends' does not use"):
            _ = getattr(container.stores, store).anything
    assert not isinstance(container.stores.trends, NotUsed)


def test_basic_opensearch_auth_needs_its_secret() -> None:
    with pytest.raises(ValueError, match="CHIRP_OPENSEARCH_CREDENTIALS_SECRET_ARN"):
        Settings(opensearch_auth="basic")
