"""The dependency layer is built without Docker and holds only wheels the Lambda platform can load."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "layers"))
import build as layer_build  # noqa: E402

EM_AARCH64 = 183  # ELF e_machine of arm64
MAX_GLIBC = (2, 34)  # the python3.12 runtime is Amazon Linux 2023


def _tags(dist_info: Path) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in (dist_info / "WHEEL").read_text().splitlines()
        if line.startswith("Tag:")
    ]


def _platform_ok(platform: str) -> bool:
    if platform == "any":
        return True
    if platform in ("manylinux2014_aarch64", "linux_aarch64"):
        return platform != "linux_aarch64"
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", platform)
    return bool(match) and (int(match[1]), int(match[2])) <= MAX_GLIBC


def _python_ok(python: str, abi: str) -> bool:
    if python in ("py3", "py2.py3") or python.startswith("py3"):
        return abi == "none"
    if python == "cp312":
        return abi in ("cp312", "abi3", "none")
    match = re.fullmatch(r"cp3(\d+)", python)
    return bool(match) and abi == "abi3" and int(match[1]) <= 12


def test_layer_holds_only_lambda_platform_wheels(layers: tuple[Path, Path]) -> None:
    """Given the dependency layer built by layers/build.py
    When each installed distribution's wheel tags are read
    Then every one has a tag loadable by CPython 3.12 on manylinux aarch64 (or is pure Python)."""
    site = layers[0] / "python"
    dists = sorted(site.glob("*.dist-info"))
    assert len(dists) > 20
    bad = []
    for dist in dists:
        tags = _tags(dist)
        if not any(_python_ok(py, abi) and _platform_ok(plat) for py, abi, plat in (t.split("-") for t in tags)):
            bad.append((dist.name, tags))
    assert bad == []


def test_layer_native_code_is_arm64(layers: tuple[Path, Path]) -> None:
    """Given the dependency layer
    When the ELF header of every shared object is read
    Then each is built for aarch64 (not the build machine's x86_64)."""
    objects = [p for p in (layers[0] / "python").rglob("*.so*") if p.is_file()]
    assert objects, "expected native extensions (pydantic-core, hiredis, cassandra-driver)"
    wrong = []
    for so in objects:
        header = so.read_bytes()[:20]
        if header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") != EM_AARCH64:
            wrong.append(so.name)
    assert wrong == []


@pytest.mark.parametrize(
    "module",
    [
        "aws_lambda_powertools",
        "aws_xray_sdk",  # Powertools Tracer
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "jwt",
        "redis",
        "hiredis",
        "cassandra",
        "cassandra_sigv4",
        "gremlin_python",
        "opensearchpy",
        "confluent_kafka",
        "aws_msk_iam_sasl_signer",
    ],
)
def test_layer_has_every_runtime_dependency(layers: tuple[Path, Path], module: str) -> None:
    """Given layers/requirements.txt
    When the layer is built
    Then each runtime dependency's package is at python/<module>."""
    assert (layers[0] / "python" / module).is_dir()


def test_layer_leaves_out_what_the_runtime_ships(layers: tuple[Path, Path]) -> None:
    """Given boto3 and botocore ship with the Lambda Python runtime
    When the layer is built
    Then they are pruned from it (smaller layer, no version clash)."""
    site = layers[0] / "python"
    assert not (site / "botocore").exists()
    assert not (site / "boto3").exists()


def test_first_party_layer_is_the_chirp_package(layers: tuple[Path, Path]) -> None:
    """Given shared/chirp
    When the first-party layer is staged
    Then python/chirp holds the same modules (wiring, config) without bytecode caches."""
    chirp = layers[1] / "python" / "chirp"
    assert (chirp / "wiring.py").read_text() == (REPO_ROOT / "shared/chirp/wiring.py").read_text()
    assert (chirp / "config.py").is_file()
    assert not list(chirp.rglob("__pycache__"))


def test_first_party_layer_carries_only_runtime_code(layers: tuple[Path, Path]) -> None:
    """Given the first-party layer
    When its modules are read
    Then the local runtime, CLI and capacity planner are absent, and nothing in it (nor any handler) imports them."""
    import ast

    chirp = layers[1] / "python" / "chirp"
    assert not (chirp / "local").exists() and not (chirp / "capacity").exists() and not (chirp / "cli.py").exists()
    excluded = ("chirp.local", "chirp.capacity", "chirp.cli")
    for module in [*chirp.rglob("*.py"), *(REPO_ROOT / "functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            assert not [n for n in names if n.startswith(excluded)], (module, names)


def test_layer_build_is_cached_by_requirements(tmp_path: Path) -> None:
    """Given two requirement files that differ
    When their cache keys are computed
    Then the keys differ, and the same file gives the same key."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("pyjwt==2.15.1\n")
    b.write_text("pyjwt==2.15.0\n")
    assert layer_build.cache_key(a) == layer_build.cache_key(a)
    assert layer_build.cache_key(a) != layer_build.cache_key(b)


def test_installer_asks_for_platform_wheels_only(tmp_path: Path) -> None:
    """Given the pip installer
    When the install command is built
    Then it targets manylinux aarch64, CPython 3.12, binary wheels only (no Docker, no sdist builds)."""
    args = layer_build.install_args([sys.executable, "-m", "pip", "install"], tmp_path, layer_build.REQUIREMENTS)
    assert "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.12"
    assert args[args.index("--implementation") + 1] == "cp"
    assert "manylinux2014_aarch64" in args
