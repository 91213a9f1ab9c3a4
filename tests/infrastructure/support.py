"""Fixtures and helpers (imported by conftest.py only when aws-cdk-lib and cdk-nag are installed): each deployment
variant is synthesized ONCE per test session, with the cdk-nag gate on."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "cdk"))

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from aws_cdk.cx_api import CloudAssembly  # noqa: E402
from chirp_cdk.app import ChirpStacks, build_stacks, layer_dirs  # noqa: E402


@dataclass
class Synthesized:
    stacks: ChirpStacks
    assembly: CloudAssembly
    _templates: dict[str, Template]

    def template(self, part: str) -> Template:
        """The template of the stack named <prefix><part>, e.g. template("Api")."""
        name = self.stacks.settings.stack_name(part)
        if name not in self._templates:
            self._templates[name] = Template.from_json(self.assembly.get_stack_by_name(name).template)
        return self._templates[name]

    def raw(self, part: str) -> dict[str, Any]:
        return self.assembly.get_stack_by_name(self.stacks.settings.stack_name(part)).template  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def layers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The real layers, built by layers/build.py (cached under layers/build/)."""
    return layer_dirs()


def _synth(context: dict[str, Any], layers: tuple[Path, Path], outdir: Path) -> Synthesized:
    app = App(context=context, outdir=str(outdir))
    stacks = build_stacks(app, layers=layers)
    return Synthesized(stacks, app.synth(), {})


@pytest.fixture(scope="session")
def synth_factory(
    layers: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[dict[str, Any]], Synthesized]:
    cache: dict[str, Synthesized] = {}

    def make(context: dict[str, Any]) -> Synthesized:
        key = repr(sorted(context.items()))
        if key not in cache:
            cache[key] = _synth(context, layers, tmp_path_factory.mktemp("cdk.out"))
        return cache[key]

    return make


@pytest.fixture(scope="session")
def aws(synth_factory: Callable[[dict[str, Any]], Synthesized]) -> Synthesized:
    """The production shape: backend=aws, stream=kinesis."""
    return synth_factory({"backend": "aws", "stream": "kinesis"})


@pytest.fixture(scope="session")
def msk(synth_factory: Callable[[dict[str, Any]], Synthesized]) -> Synthesized:
    return synth_factory({"backend": "aws", "stream": "msk"})


LOCAL_ENDPOINTS = {
    "redis_url": "redis://127.0.0.1:6379/0",
    "cassandra_hosts": "127.0.0.1:9042",
    "neptune_url": "ws://127.0.0.1:8182/gremlin",
    "opensearch_url": "http://127.0.0.1:9200",
}


@pytest.fixture(scope="session")
def local(synth_factory: Callable[[dict[str, Any]], Synthesized]) -> Synthesized:
    return synth_factory({"backend": "local", "stream": "kinesis", "local_endpoints": LOCAL_ENDPOINTS})


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def chirp_methods(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The methods of Chirp's own REST API (the Api stack also holds the Mastodon surface's REST API)."""
    [rest] = [
        k
        for k, v in resources_of(template, "AWS::ApiGateway::RestApi").items()
        if v["Properties"]["Name"].endswith("-rest")
    ]
    return {
        k: v
        for k, v in resources_of(template, "AWS::ApiGateway::Method").items()
        if v["Properties"]["RestApiId"] == {"Ref": rest}
    }
