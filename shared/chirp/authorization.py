"""Token verification for API Gateway Lambda authorizers (REST TOKEN and WebSocket REQUEST), answered with
Powertools' authorizer event and response helpers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerResponseWebSocket,
    APIGatewayAuthorizerTokenEvent,
    parse_api_gateway_arn,
)

from chirp.container import get_container
from chirp.errors import Unauthorized
from chirp.tokens import bearer_token

logger = Logger(service="chirp")
# The local runtime's events carry no real ARN; this stands in for one (same shape as API Gateway's).
LOCAL_METHOD_ARN = "arn:aws:execute-api:local:000000000000:local/local/GET/"


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    """Returns an Allow policy with the principal in the context; raises Exception('Unauthorized') (API Gateway's
    contract for a 401) for a missing, malformed, expired or foreign token."""
    rest = event.get("type") == "TOKEN"
    try:
        if rest:
            token = bearer_token(APIGatewayAuthorizerTokenEvent(event).authorization_token)
        else:
            request = APIGatewayAuthorizerRequestEvent(event)
            query = request.get("queryStringParameters") or {}  # absent on AWS when the URL has no query
            # Chirp's clients send ?token=; Mastodon's ?access_token= or (Mastodon.py) the Authorization header.
            token = (query.get("token") or query.get("access_token") or "").strip()
            if not token:
                token = bearer_token(request.headers.get("Authorization"))
        container = get_container()
        principal, scope = container.tokens.verify_scoped(token)
        if principal.user_id or scope is None:  # (an OAuth app's own token, chirp.mastodon.oauth, has no user)
            container.auth.current(principal)  # the account still exists and the token was not revoked
    except Unauthorized as exc:
        logger.debug("token refused", extra={"reason": exc.code})
        raise Exception("Unauthorized") from None
    arn = parse_api_gateway_arn(str(event.get("methodArn") or LOCAL_METHOD_ARN), is_websocket_authorizer=not rest)
    context = {"user_id": str(principal.user_id), "username": principal.username, "ver": str(principal.version)}
    if scope is not None:  # an OAuth token of the Mastodon surface: its routes check the scope (chirp.mastodon)
        context["scope"] = scope
    fields = {"region": arn.region, "aws_account_id": arn.aws_account_id, "api_id": arn.api_id, "stage": arn.stage}
    if rest:
        # Every method and path of the stage, so API Gateway can cache the decision per token.
        response = APIGatewayAuthorizerResponse(str(principal.user_id), **fields, context=context)
        response.allow_all_routes()
        return response.asdict()
    # WebSocket: $connect is checked against .../stage/$connect, which has no method part.
    ws_response = APIGatewayAuthorizerResponseWebSocket(str(principal.user_id), **fields, context=context)
    ws_response.allow_route(resource="$connect")
    return ws_response.asdict()
