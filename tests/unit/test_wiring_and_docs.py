"""The wiring table is the one truth: every route has exactly one handler operation, the OpenAPI document and the
sample events are generated from it, and the committed copies are current."""

from pathlib import Path

import pytest

from chirp import wiring
from chirp.local.functions import functions_dir, load_handler
from chirp.local.samples import all_samples, serialize
from chirp.openapi import COMMITTED, openapi_document, render

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_every_function_has_a_handler_file_that_loads(fn: wiring.Function) -> None:
    assert (functions_dir() / fn.name / "handler.py").is_file()
    assert callable(load_handler(fn.name))


def test_routes_are_unique() -> None:
    keys = [(r.method, r.path) for _, r in wiring.all_routes()]
    assert len(keys) == len(set(keys))


def test_openapi_documents_exactly_the_wired_routes() -> None:
    doc = openapi_document()
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert documented == {(r.method, r.path) for _, r in wiring.all_routes()}


def test_public_routes_are_marked_public_in_the_spec() -> None:
    doc = openapi_document()
    for _, route in wiring.all_routes():
        op = doc["paths"][route.path][route.method.lower()]
        assert (op.get("security") == []) == (not route.auth)


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.read_text() == render(), "run `make generated`"


def test_committed_sample_events_are_current() -> None:
    for relative, event in all_samples().items():
        path = REPO / "events" / relative
        assert path.is_file(), f"missing sample {relative}; run `make generated`"
        assert path.read_text() == serialize(event), f"stale sample {relative}; run `make generated`"


def test_every_function_has_sample_events() -> None:
    covered = {p.parts[0] for p in all_samples()}
    assert covered == {fn.name for fn in wiring.FUNCTIONS}


def test_every_cli_command_dispatches() -> None:
    from chirp.cli import build_parser

    parser = build_parser()
    commands = (["run"], ["seed"], ["dlq", "list"], ["capacity", "--scenario", "x"], ["invoke", "x", "--event", "y"])
    for argv in (*commands, ["metrics", "--watch", "2"]):
        assert callable(parser.parse_args(argv).func), argv
