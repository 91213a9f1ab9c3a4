"""Loads the Lambda handlers named by the wiring table from functions/<name>/handler.py, exactly the file Lambda
would run, and invokes them with a local Lambda context."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chirp import wiring
from chirp.local.context import LocalLambdaContext

LambdaHandler = Callable[[dict[str, Any], Any], Any]


def functions_dir() -> Path:
    configured = os.environ.get("CHIRP_FUNCTIONS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "functions"


def load_handler(name: str) -> LambdaHandler:
    module_name = f"chirp_function_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        path = functions_dir() / name / "handler.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    handler: LambdaHandler = module.handler
    return handler


def invoke(name: str, event: dict[str, Any]) -> Any:
    fn = wiring.function(name)
    return load_handler(name)(event, LocalLambdaContext(name, memory_mb=fn.memory_mb, timeout_s=fn.timeout_s))
