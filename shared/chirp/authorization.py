"""Token verification for API Gateway Lambda authorizers (REST TOKEN and WebSocket REQUEST)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

from chirp.config import get_settings
from chirp.errors import Unauthorized
from chirp.tokens import TokenCodec, bearer_token

logger = Logger(service="chirp")


@lru_cache(maxsize=1)
def token_codec() -> TokenCodec:
    settings = get_settings()
    local_dir = None if settings.backend == "aws" else settings.data_dir  # on AWS the keys come from the secret
    return TokenCodec.from_spec(settings.jwt_keys, settings.token_ttl_s, data_dir=local_dir)


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
    region, account = (parts[3], parts[4]) if len(parts) > 5 else ("local", "000000000000")
    api_id, stage = [*parts[5].split("/"), "local", "local"][:2] if len(parts) > 5 else ("local", "local")
    # REST: .../stage/*/* (every method and path, so API Gateway can cache the decision per token).
    # WebSocket: $connect is checked against .../stage/$connect, which has no method part.
    routes = "*/*" if event.get("type") == "TOKEN" else "*"
    return {
        "principalId": str(principal.user_id),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": [f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{routes}"],
                }
            ],
        },
        "context": {"user_id": str(principal.user_id), "username": principal.username},
    }
