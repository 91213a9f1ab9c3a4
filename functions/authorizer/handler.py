"""Lambda authorizer: TOKEN for the REST API (Authorization header), REQUEST for WebSocket $connect (?token=).
Allows every route of the API on success so that API Gateway can cache the decision per token."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chirp.authorization import authorize


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event)
