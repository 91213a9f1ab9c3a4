"""One configuration truth: every CHIRP_* variable the CDK app gives a function is a Chirp setting, and every
function gets what the resources of its wiring entry need (synthesized for each deployable variant)."""

from __future__ import annotations

from typing import Any

import pytest

from chirp import wiring
from chirp.config import RESOURCE_SETTINGS, Settings, unknown_variables

from .support import Synthesized

# Given to every function whatever it uses (chirp_cdk.functions.ChirpFunctions.environment).
COMMON = {
    "CHIRP_BACKEND",
    "CHIRP_FUNCTION",
    "CHIRP_PUBLIC_URL",
    "CHIRP_MEDIA_BASE_URL",
    "CHIRP_CORS_ORIGINS",
    "CHIRP_MASTODON_URL",  # the Mastodon surface's base URL (chirp_cdk.mastodon_api): its entities link there
    "CHIRP_MASTODON_STREAMING_URL",  # the streaming base the Mastodon instance document names (WebSocket API)
}
STORE_WIDE = {"CHIRP_TLS_CA_BUNDLE"}  # any store's functions may get the CA bundle


def function_environments(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Wiring name -> the Lambda function's environment, across every stack of the app."""
    found: dict[str, dict[str, Any]] = {}
    for stack in synth.assembly.stacks:
        for resource in stack.template["Resources"].values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            env = resource["Properties"].get("Environment", {}).get("Variables", {})
            if "CHIRP_FUNCTION" in env:
                found[env["CHIRP_FUNCTION"]] = env
    assert set(found) == {fn.name for fn in wiring.FUNCTIONS}
    return found


@pytest.fixture(params=["aws", "msk", "local"])
def variant(request: pytest.FixtureRequest) -> Synthesized:
    synth: Synthesized = request.getfixturevalue(request.param)
    return synth


def test_every_chirp_variable_is_a_setting(variant: Synthesized) -> None:
    for name, env in function_environments(variant).items():
        assert unknown_variables(env) == [], name


def test_no_function_gets_settings_of_a_resource_it_does_not_use(variant: Synthesized) -> None:
    for name, env in function_environments(variant).items():
        uses = wiring.function(name).uses
        allowed = set(COMMON) | {f"CHIRP_{s.upper()}" for use in uses for s in RESOURCE_SETTINGS[use]}
        if {"keyspaces", "cache", "graph", "search"} & set(uses):
            allowed |= STORE_WIDE
        if wiring.function(name).stream is not None or wiring.function(name).objects is not None:
            allowed.add("CHIRP_DEAD_LETTER_BUCKET")  # a stream or object consumer quarantines poison records there
        stray = {key for key in env if key.startswith("CHIRP_")} - allowed
        assert not stray, f"{name} gets {sorted(stray)} but its wiring entry uses only {uses}"


@pytest.mark.parametrize("variant_name", ["aws", "msk"])
def test_every_deployed_function_starts_with_its_environment(
    variant_name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings as a cold start builds them from the synthesized environment (CloudFormation references stand in
    as placeholder text): validation passes, so no function lacks an endpoint or credential its resources need."""
    synth: Synthesized = request.getfixturevalue(variant_name)
    for name, env in function_environments(synth).items():
        with monkeypatch.context() as patch:
            for key in [k for k in __import__("os").environ if k.startswith("CHIRP_")]:
                patch.delenv(key)
            patch.setenv("AWS_REGION", "eu-west-1")
            for key, value in env.items():
                patch.setenv(key, value if isinstance(value, str) else "resolved-at-deploy")
            settings = Settings()
        assert settings.backend == "aws" and settings.function == name
        assert settings.aws_region == "eu-west-1"
        uses = wiring.function(name).uses
        if "cache" in uses:
            assert settings.redis_url.startswith("rediss://") or "resolved" in settings.redis_url
            assert settings.redis_auth_secret_arn
        if "graph" in uses:
            assert settings.neptune_iam_auth
        if "search" in uses:
            assert settings.opensearch_auth == "sigv4"
            assert not settings.opensearch_credentials_secret_arn  # the functions never hold the master user
        if "keyspaces" in uses:
            assert settings.cassandra_sigv4
        if "stream" in uses:
            assert settings.stream_kind == ("msk" if variant_name == "msk" else "kinesis")
