"""The layers for an emulator that runs Lambda functions as local processes (context ``layer_python``).

Such an emulator (ministack with LAMBDA_EXECUTOR=local) imports the layers into its own interpreter on this machine,
so the dependency layer must hold wheels for that interpreter and platform (e.g. CPython 3.11 on x86_64), not the
manylinux aarch64 cp312 wheels AWS runs. The layer's contents are otherwise the same: ``layers/requirements.txt``,
with the packages the Lambda runtime provides (boto3, botocore, s3transfer) left out; the emulator's interpreter
provides them, as the Lambda runtime does.

Built with the interpreter's own pip (binary wheels only) into ``layers/build/host-<hash>/`` (git-ignored); the
hash covers requirements.txt and the interpreter's version and platform, so a rebuild happens only when they change.
The first-party layer is copied beside it (not into ``layers/build/chirp``, which other synths rewrite).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

BUILD_FORMAT = 1


def interpreter_tag(python: str) -> str:
    """``cp311-linux-x86_64``-like tag of the interpreter that will import the layer."""
    probe = (
        "import sys, sysconfig; "
        "print(f'{sys.implementation.cache_tag}-{sysconfig.get_platform()}'.replace('cpython-', 'cp'))"
    )
    out = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def build_host_layers(layer_build: Any, python: str, *, force: bool = False) -> tuple[Path, Path]:
    """(dependency layer dir, first-party layer dir) for ``python``; ``layer_build`` is layers/build.py."""
    requirements: Path = layer_build.REQUIREMENTS
    tag = interpreter_tag(python)
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(json.dumps([BUILD_FORMAT, tag, list(layer_build.RUNTIME_PROVIDED)]).encode())
    root: Path = layer_build.BUILD_DIR / f"host-{tag}-{digest.hexdigest()[:12]}"
    deps = root / "deps"
    if force or not (deps / ".complete").exists():
        staging = root / ".staging-deps"
        shutil.rmtree(staging, ignore_errors=True)
        site = staging / "python"
        site.mkdir(parents=True)
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        command += ["--only-binary=:all:", "--target", str(site), "-r", str(requirements)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"building the {tag} dependency layer failed:\n{result.stdout}{result.stderr}")
        layer_build._prune(site)
        (staging / ".complete").write_text(tag + "\n")
        shutil.rmtree(deps, ignore_errors=True)
        staging.rename(deps)
    first_party: Path = layer_build.build_first_party(build_dir=root)
    return deps, first_party
