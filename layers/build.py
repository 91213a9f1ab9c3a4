"""Build the Lambda layers without Docker: third-party wheels for the Lambda platform, and Chirp's own code.

    python layers/build.py            # prints the two layer directories
    python layers/build.py --force    # rebuild the dependency layer even if cached

The dependency layer is installed with pip's cross-platform options (manylinux aarch64 wheels, CPython 3.12, binary
wheels only) into ``layers/build/deps-<hash>/python``; the hash covers requirements.txt and the build options, so a
rebuild happens only when they change. The first-party layer copies ``shared/chirp`` to ``layers/build/chirp/python``
on every call (it is small). ``layers/build/`` is git-ignored (the ``build/`` pattern in .gitignore).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LAYERS_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAYERS_DIR.parent
REQUIREMENTS = LAYERS_DIR / "requirements.txt"
BUILD_DIR = LAYERS_DIR / "build"
FIRST_PARTY_SRC = REPO_ROOT / "shared" / "chirp"

PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")  # the python3.12 runtime is AL2023 (glibc 2.34)
IMPLEMENTATION = "cp"
# Shipped by the Lambda Python runtime; the layer leaves them out to stay small.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Parts of the chirp package no Lambda function runs: the local runtime, the command line and the capacity planner.
FIRST_PARTY_EXCLUDED = ("local", "capacity", "cli.py")
BUILD_FORMAT = 1  # bump to invalidate every cached build


@dataclass(frozen=True, slots=True)
class LayerDirs:
    dependencies: Path  # contains python/<packages>
    first_party: Path  # contains python/chirp


def cache_key(requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(json.dumps([BUILD_FORMAT, PYTHON_VERSION, PLATFORMS, IMPLEMENTATION, RUNTIME_PROVIDED]).encode())
    return digest.hexdigest()[:16]


def installer_command() -> list[str]:
    """pip from this interpreter if it has one, else uv's pip interface (the project venv is made by uv)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv", "pip", "install", "--quiet"]
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", "install", "--quiet"]
    for python in ("python3", "python"):
        exe = shutil.which(python)
        if exe and subprocess.run([exe, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [exe, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    raise RuntimeError("neither pip nor uv is available to build the Lambda layer")


def install_args(command: list[str], target: Path, requirements: Path) -> list[str]:
    if "uv" in Path(command[0]).name or command[1:3] == ["-m", "uv"]:
        # uv names the platform differently and takes one; aarch64-manylinux_2_28 also accepts manylinux2014 wheels.
        return [
            *command,
            "--python-platform",
            "aarch64-manylinux_2_28",
            "--python-version",
            PYTHON_VERSION,
            "--only-binary",
            ":all:",
            "--target",
            str(target),
            "-r",
            str(requirements),
        ]
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        *command,
        *platforms,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        IMPLEMENTATION,
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def _prune(site: Path) -> None:
    for name in RUNTIME_PROVIDED:
        shutil.rmtree(site / name, ignore_errors=True)
        for info in site.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info)
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def build_dependencies(*, force: bool = False, requirements: Path = REQUIREMENTS, build_dir: Path = BUILD_DIR) -> Path:
    """The dependency layer's directory (with python/ inside), built if not cached."""
    out = build_dir / f"deps-{cache_key(requirements)}"
    marker = out / ".complete"
    if marker.exists() and not force:
        return out
    staging = build_dir / f".staging-{out.name}"
    shutil.rmtree(staging, ignore_errors=True)
    site = staging / "python"
    site.mkdir(parents=True)
    subprocess.run(install_args(installer_command(), site, requirements), check=True)
    _prune(site)
    (staging / ".complete").write_text(cache_key(requirements) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    for old in build_dir.glob("deps-*"):
        if old != out:
            shutil.rmtree(old, ignore_errors=True)
    return out


def build_first_party(*, build_dir: Path = BUILD_DIR, source: Path = FIRST_PARTY_SRC) -> Path:
    """Chirp's runtime code as a layer (python/chirp), copied fresh so it always matches the work tree; the local
    runtime, CLI and capacity planner stay out (smaller layer, less to load at a cold start)."""
    out = build_dir / "chirp"
    shutil.rmtree(out, ignore_errors=True)

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(shutil.ignore_patterns("__pycache__", "*.pyc")(directory, names))
        if Path(directory) == source:
            ignored |= set(FIRST_PARTY_EXCLUDED) & set(names)
        return ignored

    shutil.copytree(source, out / "python" / "chirp", ignore=ignore)
    return out


def build_all(*, force: bool = False) -> LayerDirs:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    return LayerDirs(dependencies=build_dependencies(force=force), first_party=build_first_party())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild the dependency layer even if cached")
    args = parser.parse_args(argv)
    dirs = build_all(force=args.force)
    print(dirs.dependencies)
    print(dirs.first_party)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
