"""Mastodon apps stream at wss://<streaming base>/api/v1/streaming: with the mastodon_streaming_domain context the
WebSocket API gets a Regional custom domain whose multi-level API mapping is that path, and the functions name it
as the instance's streaming URL; without it, nothing of the kind is made."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match
from chirp_cdk.settings import settings_from_context

from chirp import wiring

from .support import Synthesized, resources_of

DOMAIN = "streaming.chirp.example"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"


def test_the_streaming_domain_maps_the_mastodon_path_to_the_websocket_stage(
    synth_factory: Callable[[dict[str, Any]], Synthesized],
) -> None:
    synthesized = synth_factory(
        {
            "backend": "aws",
            "stream": "kinesis",
            "mastodon_streaming_domain": DOMAIN,
            "mastodon_streaming_certificate_arn": CERTIFICATE,
        }
    )
    template = synthesized.template("Api")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": DOMAIN,
            "DomainNameConfigurations": [Match.object_like({"CertificateArn": CERTIFICATE})],
        },
    )
    raw = synthesized.raw("Api")
    (ws_api,) = resources_of(raw, "AWS::ApiGatewayV2::Api")
    (mapping,) = resources_of(raw, "AWS::ApiGatewayV2::ApiMapping").values()
    assert mapping["Properties"]["ApiMappingKey"] == "api/v1/streaming" == wiring.MASTODON_STREAMING_PATH.strip("/")
    assert mapping["Properties"]["ApiId"] == {"Ref": ws_api}
    template.has_output("MastodonStreamingTarget", Match.any_value())
    functions = resources_of(raw, "AWS::Lambda::Function").values()
    urls = {
        f["Properties"]["Environment"]["Variables"].get("CHIRP_MASTODON_STREAMING_URL")
        for f in functions
        if "CHIRP_FUNCTION" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert urls == {f"wss://{DOMAIN}"}


def test_without_the_context_there_is_no_streaming_domain(aws: Synthesized) -> None:
    raw = aws.raw("Api")
    assert resources_of(raw, "AWS::ApiGatewayV2::DomainName") == {}
    assert resources_of(raw, "AWS::ApiGatewayV2::ApiMapping") == {}
    # The instance document still names the deployment's own WebSocket API, never the local default
    mastodon = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources_of(raw, "AWS::Lambda::Function").values()
        if f["Properties"].get("Environment", {}).get("Variables", {}).get("CHIRP_FUNCTION") == "mastodon"
    ]
    assert len(mastodon) == 1
    streaming = json.dumps(mastodon[0]["CHIRP_MASTODON_STREAMING_URL"])
    (ws_api,) = resources_of(raw, "AWS::ApiGatewayV2::Api")
    assert "127.0.0.1" not in streaming and ws_api in streaming


def test_the_domain_and_its_certificate_go_together() -> None:
    class Node:
        def __init__(self, context: dict[str, str]) -> None:
            self._context = context

        def try_get_context(self, key: str) -> str | None:
            return self._context.get(key)

    with pytest.raises(ValueError, match="go together"):
        settings_from_context(Node({"mastodon_streaming_domain": DOMAIN}))  # type: ignore[arg-type]
