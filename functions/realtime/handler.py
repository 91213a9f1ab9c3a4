"""WebSocket routes: $connect registers the connection (the authorizer already checked ?token=), $disconnect
unregisters it, $default answers {"action": "ping"} with {"type": "pong"}."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chirp.websocket import dispatch


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(event)
