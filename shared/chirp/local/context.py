"""A Lambda context object for local invocations (what Powertools and handlers read from it)."""

from __future__ import annotations

import time
import uuid

from chirp.local.events import ACCOUNT, REGION


class LocalLambdaContext:
    def __init__(self, function_name: str, *, memory_mb: int = 512, timeout_s: int = 30) -> None:
        self.function_name = f"chirp-{function_name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
