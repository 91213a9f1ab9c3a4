"""CDK entry point: ``cdk synth`` (see cdk.json). Context: backend=aws|local, stream=kinesis|msk."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App
from chirp_cdk.app import build_stacks


def main() -> None:
    app = App()
    build_stacks(app)
    app.synth()


if __name__ == "__main__":
    main()
