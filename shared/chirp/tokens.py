"""Signed access tokens (JWT, HS256) with key ids: the first key signs, every configured key verifies, so a new key
can be rolled in without logging everyone out."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from chirp.errors import Unauthorized

ISSUER = "chirp"
_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    # The user's token version when the token was issued (claim "ver"; absent in older tokens: 0). A password change
    # bumps the user's version, and the authorizer refuses tokens of an older one (AuthService.current).
    version: int = 0


class TokenCodec:
    def __init__(self, keys: dict[str, str], ttl_s: int) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        self._keys = keys
        self._signing_kid = next(iter(keys))
        self.ttl_s = ttl_s

    @classmethod
    def from_spec(cls, spec: str, ttl_s: int, *, data_dir: Path | None = None) -> TokenCodec:
        """``spec`` is "kid:secret,kid2:secret2". Empty: a random key persisted in ``data_dir`` (local use only)."""
        keys: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kid, sep, secret = part.partition(":")
            if not sep or not kid or len(secret) < 32:
                raise ValueError("CHIRP_JWT_KEYS must be kid:secret pairs with secrets of at least 32 characters")
            keys[kid] = secret
        if not keys:
            if data_dir is None:
                raise ValueError("CHIRP_JWT_KEYS is required")
            keys = {"local": _local_secret(data_dir)}
        return cls(keys, ttl_s)

    def secret_for_uploads(self) -> str:
        """A key derived from the signing key for HMAC-signed local upload URLs (never the signing key itself)."""
        import hashlib

        return hashlib.sha256(b"chirp-uploads:" + self._keys[self._signing_kid].encode()).hexdigest()

    def derived_secret(self, purpose: str) -> str:
        """A key derived from the signing key for one purpose (OAuth client credentials, authorization codes): never
        the signing key itself, and one purpose's signatures are worthless for another."""
        import hashlib

        return hashlib.sha256(f"chirp-{purpose}:".encode() + self._keys[self._signing_kid].encode()).hexdigest()

    def issue(self, principal: Principal, *, now: float | None = None, scope: str | None = None) -> str:
        """A token for ``principal``. ``scope``: an OAuth token of the Mastodon surface (space-separated scopes such
        as "read write"), checked per route there; without it, a token of Chirp's own with every right."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, object] = {
            "sub": str(principal.user_id),
            "username": principal.username,
            "ver": principal.version,
            "iss": ISSUER,
            "iat": issued,
            "exp": issued + self.ttl_s,
        }
        if scope is not None:
            claims["scope"] = scope
        import jwt  # on first use: PyJWT loads cryptography (~0.1 s), which most functions' cold starts never need

        return jwt.encode(
            claims, self._keys[self._signing_kid], algorithm=_ALGORITHM, headers={"kid": self._signing_kid}
        )

    def verify(self, token: str) -> Principal:
        return self.verify_scoped(token)[0]

    def verify_scoped(self, token: str) -> tuple[Principal, str | None]:
        """The token's principal and its OAuth scope (None: a Chirp token, every right)."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            secret = self._keys.get(str(header.get("kid")))
            if secret is None:
                raise Unauthorized("token signed with an unknown key", code="invalid_token")
            claims = jwt.decode(
                token, secret, algorithms=[_ALGORITHM], issuer=ISSUER, options={"require": ["exp", "iat", "sub"]}
            )
            scope = claims.get("scope")
            principal = Principal(
                user_id=int(claims["sub"]), username=str(claims["username"]), version=int(claims.get("ver", 0))
            )
            return principal, str(scope) if scope is not None else None
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired", code="token_expired") from None
        except (jwt.PyJWTError, KeyError, ValueError):
            raise Unauthorized("invalid token", code="invalid_token") from None


def bearer_token(header_value: str | None) -> str:
    if not header_value:
        raise Unauthorized("missing bearer token", code="missing_token")
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'", code="invalid_token")
    return token.strip()


def _local_secret(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "jwt.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
