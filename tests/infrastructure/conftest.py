"""Infrastructure tests: the CDK app synthesized once per session per variant (aws, msk, local), cdk-nag on."""

from __future__ import annotations

from .support import aws, layers, local, msk, synth_factory  # noqa: F401  (session fixtures)
