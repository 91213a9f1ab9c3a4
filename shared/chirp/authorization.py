"""Token verification for API Gateway Lambda authorizers (REST TOKEN and WebSocket REQUEST)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerResponse

from chirp.config import get_settings
from chirp.errors import Unauthorized
from chirp.tokens import TokenCodec, bearer_token

logger = Logger(service="chirp")


@lru_cache(maxsize=1)
def token_codec() -> TokenCodec:
    settings = get_settings()
    return TokenCodec.from_spec(settings.jwt_keys, settings.token_ttl_s, data_dir=settings.data_dir)


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    """Returns an Allow policy with the principal in the context; raises Exception('Unauthorized') (API Gateway's
    contract for a 401) for a missing, malformed, expired or foreign token."""
    try:
        if event.get("type") == "TOKEN":
            token = bearer_token(event.get("authorizationToken"))
        else:
            token = ((event.get("queryStringParameters") or {}).get("token") or "").strip()
            if not token:
                token = bearer_token((event.get("headers") or {}).get("Authorization"))
        principal = token_codec().verify(token)
    except Unauthorized as exc:
        logger.debug("token refused", extra={"reason": exc.code})
        raise Exception("Unauthorized") from None
    arn = str(event.get("methodArn", "arn:aws:execute-api:local:000000000000:local/local/GET/"))
    parts = arn.split(":")
    api_id, stage = [*parts[5].split("/"), "local", "local"][:2] if len(parts) > 5 else ("local", "local")
    response = APIGatewayAuthorizerResponse(
        principal_id=str(principal.user_id),
        region=parts[3] if len(parts) > 3 else "local",
        aws_account_id=parts[4] if len(parts) > 4 else "000000000000",
        api_id=api_id,
        stage=stage,
        context={"user_id": str(principal.user_id), "username": principal.username},
    )
    response.allow_all_routes()
    return response.asdict()
