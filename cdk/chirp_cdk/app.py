"""Assembles the stacks. ``build_app`` is used by cdk/app.py and by the infrastructure tests."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from chirp_cdk.api_stack import ApiStack
from chirp_cdk.content_stack import ContentStack
from chirp_cdk.data_stack import DataStack
from chirp_cdk.host_layer import build_host_layers
from chirp_cdk.nag import apply_suppressions
from chirp_cdk.network_stack import NetworkStack
from chirp_cdk.observability_stack import ObservabilityStack
from chirp_cdk.settings import DeploymentSettings, settings_from_context
from chirp_cdk.stream_stack import StreamStack
from chirp_cdk.web_stack import WebClientStack

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ChirpStacks:
    settings: DeploymentSettings
    network: NetworkStack | None
    data: DataStack
    content: ContentStack
    stream: StreamStack
    api: ApiStack
    web: WebClientStack
    observability: ObservabilityStack

    def all(self) -> list[Stack]:
        stacks: list[Stack] = [self.data, self.content, self.stream, self.api, self.web, self.observability]
        return [self.network, *stacks] if self.network is not None else stacks


def _layer_build() -> Any:
    spec = importlib.util.spec_from_file_location("chirp_layer_build", REPO_ROOT / "layers" / "build.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError("layers/build.py")
    layer_build: Any = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = layer_build
    spec.loader.exec_module(layer_build)
    return layer_build


def layer_dirs(layer_python: str | None = None) -> tuple[Path, Path]:
    """Build (or reuse the cached) layers with layers/build.py: for Lambda (aarch64, cp312), or, with
    ``layer_python`` (context, backend=local), for that interpreter (see chirp_cdk.host_layer)."""
    layer_build = _layer_build()
    if layer_python:
        return build_host_layers(layer_build, layer_python)
    dirs = layer_build.build_all()
    return dirs.dependencies, dirs.first_party


def environment() -> Environment | None:
    """An explicit account/region only when the CLI knows them; synth stays environment-agnostic offline."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account and region else None


def build_stacks(app: App, *, layers: tuple[Path, Path] | None = None, nag: bool = True, **kw: Any) -> ChirpStacks:
    settings = settings_from_context(app.node)
    env = kw.pop("env", None) or environment()
    dirs = layers or layer_dirs(settings.layer_python)
    name = settings.stack_name
    common: dict[str, Any] = {"env": env}
    network = NetworkStack(app, name("Network"), settings=settings, **common) if settings.is_aws else None
    data = DataStack(app, name("Data"), settings=settings, network=network, **common, **kw)
    content = ContentStack(app, name("Content"), settings=settings, **common)
    stream = StreamStack(app, name("Stream"), settings=settings, network=network, **common)
    api = ApiStack(
        app,
        name("Api"),
        settings=settings,
        network=network,
        data=data,
        content=content,
        stream=stream,
        layer_dirs=dirs,
        **common,
    )
    web = WebClientStack(
        app,
        name("Web"),
        content=content,
        rest_url=api.rest_url,
        api_base_url=api.api_base_url,
        ws_url=api.ws_url,
        # waf_scope=edge: sign-up and sign-in are served (and inspected) at the API edge only
        auth_url=api.edge.url if settings.waf_scope == "edge" else None,
        **common,
    )
    observability = ObservabilityStack(
        app, name("Observability"), settings=settings, api=api, stream=stream, data=data, **common
    )
    stacks = ChirpStacks(settings, network, data, content, stream, api, web, observability)
    for stack in stacks.all():
        Tags.of(stack).add("project", "chirp")
        Tags.of(stack).add("chirp:backend", settings.backend)
    if nag:
        apply_suppressions(stacks)
        Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stacks
