"""OAuth 2 as Mastodon speaks it, over Chirp's own tokens.

Nothing new is stored per app: a client id is a signed description of the app (name, redirect URIs, scopes) and its
secret an HMAC of the id, both with keys derived from the token signing key (``TokenCodec.derived_secret``); an
authorization code is a short-lived signed grant bound to the client, redirect URI and PKCE challenge, redeemed once
(the idempotency store claims it). Access tokens are Chirp tokens carrying a ``scope`` claim, so the one authorizer
verifies both kinds; a client-credentials token belongs to no user (user id 0, no username), which every user route
refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from chirp.errors import ChirpError, Forbidden, Unauthorized, ValidationFailed
from chirp.mastodon import scopes
from chirp.ports import IdempotencyStore
from chirp.services.auth import AuthService
from chirp.tokens import Principal, TokenCodec

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
CODE_TTL_S = 600
GRANT_TYPES = ("authorization_code", "password", "client_credentials")
_ALGORITHM = "HS256"
_CLIENT_AUDIENCE = "chirp-oauth-client"
_CODE_AUDIENCE = "chirp-oauth-code"


class OAuthError(ChirpError):
    """An OAuth error (RFC 6749 section 5.2): answered as ``{"error": code, "error_description": message}``."""

    status = 400
    code = "invalid_request"


class InvalidClient(OAuthError):
    status = 401
    code = "invalid_client"


@dataclass(frozen=True, slots=True)
class ClientApp:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    website: str | None


@dataclass(frozen=True, slots=True)
class Grant:
    """An issued access token and what it allows."""

    access_token: str
    scope: str
    created_at: int
    expires_in: int

    def as_json(self) -> dict[str, Any]:
        """Mastodon's Token entity (plus the standard expires_in)."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": self.scope,
            "created_at": self.created_at,
            "expires_in": self.expires_in,
        }


class OAuthService:
    def __init__(self, tokens: TokenCodec, auth: AuthService, idempotency: IdempotencyStore) -> None:
        self._tokens = tokens
        self._auth = auth
        self._idempotency = idempotency

    # -- apps ------------------------------------------------------------------------------------------------------
    def register(self, *, name: str, redirect_uris: list[str], scope: str | None, website: str | None) -> ClientApp:
        """A new client (``POST /api/v1/apps``)."""
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise ValidationFailed("client_name must be 1-200 characters", code="invalid_client_name")
        uris = [u.strip() for u in redirect_uris if u.strip()] or [OOB_REDIRECT]
        if len(uris) > 10 or any(len(u) > 2000 or not (u == OOB_REDIRECT or "://" in u) for u in uris):
            raise ValidationFailed("redirect_uris must be up to 10 absolute URIs", code="invalid_redirect_uri")
        requested = scopes.parse(scope)
        if bad := scopes.unknown(requested):
            raise ValidationFailed(f"unknown scopes: {' '.join(bad)}", code="invalid_scope")
        site = (website or "").strip()[:2000] or None
        import jwt

        claims = {"aud": _CLIENT_AUDIENCE, "n": name, "r": uris, "s": requested, "w": site, "j": secrets.token_hex(4)}
        client_id = jwt.encode(claims, self._tokens.derived_secret("oauth-client"), algorithm=_ALGORITHM)
        return ClientApp(client_id, name, tuple(uris), tuple(requested), site)

    def client(self, client_id: str) -> ClientApp:
        """The app a client id describes; an id this server did not sign is an unknown client (401)."""
        import jwt

        try:
            claims = jwt.decode(
                client_id,
                self._tokens.derived_secret("oauth-client"),
                algorithms=[_ALGORITHM],
                audience=_CLIENT_AUDIENCE,
            )
            return ClientApp(
                client_id, str(claims["n"]), tuple(claims["r"]), tuple(claims["s"]), claims.get("w") or None
            )
        except (jwt.PyJWTError, KeyError, TypeError):
            raise InvalidClient("unknown client_id") from None

    def application(self, app: ClientApp, *, with_credentials: bool) -> dict[str, Any]:
        """Mastodon's Application entity (CredentialApplication, with client id and secret, on registration)."""
        found: dict[str, Any] = {
            "id": hashlib.sha256(app.client_id.encode()).hexdigest()[:16],
            "name": app.name,
            "website": app.website,
            "scopes": list(app.scopes),
            "redirect_uri": "\n".join(app.redirect_uris),
            "redirect_uris": list(app.redirect_uris),
            "vapid_key": "",
        }
        if with_credentials:
            found |= {
                "client_id": app.client_id,
                "client_secret": self.client_secret(app),
                "client_secret_expires_at": 0,
            }
        return found

    def server_info(self, base_url: str) -> dict[str, Any]:
        """RFC 8414 authorization server metadata (``/.well-known/oauth-authorization-server``)."""
        return {
            "issuer": base_url + "/",
            "authorization_endpoint": f"{base_url}/oauth/authorize",
            "token_endpoint": f"{base_url}/oauth/token",
            "revocation_endpoint": f"{base_url}/oauth/revoke",
            "app_registration_endpoint": f"{base_url}/api/v1/apps",
            "scopes_supported": sorted(scopes.KNOWN),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
            "code_challenge_methods_supported": ["S256"],
            "service_documentation": "https://docs.joinmastodon.org/",
        }

    def client_secret(self, app: ClientApp) -> str:
        key = self._tokens.derived_secret("oauth-secret").encode()
        return hmac.new(key, app.client_id.encode(), hashlib.sha256).hexdigest()

    def authenticate(self, client_id: str | None, client_secret: str | None) -> ClientApp:
        """The client of a token request, checked against its secret (a public PKCE client may omit the secret
        only for the authorization code grant: the caller says so by passing None)."""
        if not client_id:
            raise InvalidClient("client_id is required")
        app = self.client(client_id)
        if client_secret is not None and not hmac.compare_digest(client_secret, self.client_secret(app)):
            raise InvalidClient("client authentication failed")
        return app

    def granted_scope(self, app: ClientApp, requested: str | None) -> str:
        """The scope a token gets: what was asked (the app's own scopes when nothing was), which must be among
        the app's registered scopes."""
        asked = scopes.parse(requested, default=" ".join(app.scopes))
        if scopes.unknown(asked) or not scopes.within(asked, app.scopes):
            raise OAuthError(
                "the requested scope is invalid, unknown, or not registered for this app", code="invalid_scope"
            )
        return " ".join(asked)

    # -- grants ----------------------------------------------------------------------------------------------------
    def password_grant(
        self, app: ClientApp, *, username: str, password: str, scope: str | None, source_ip: str
    ) -> Grant:
        granted = self.granted_scope(app, scope)
        try:
            login = self._auth.login(username=username, password=password, source_ip=source_ip)
        except Unauthorized:
            raise OAuthError("wrong username or password", code="invalid_grant") from None
        return self._grant(self._tokens.verify(login["token"]), granted)  # the user's token version included

    def client_credentials_grant(self, app: ClientApp, *, scope: str | None) -> Grant:
        """A token for the app itself (no user): enough for app and instance reads, refused by every user route."""
        return self._grant(Principal(0, ""), self.granted_scope(app, scope))

    def issue_code(
        self,
        principal: Principal,
        app: ClientApp,
        *,
        redirect_uri: str,
        scope: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> str:
        """An authorization code for a signed-in user's consent (``/oauth/authorize``)."""
        self.check_redirect(app, redirect_uri)
        granted = self.granted_scope(app, scope)
        method = code_challenge_method or ("S256" if code_challenge else None)
        if code_challenge is not None and (method not in ("S256", "plain") or not 43 <= len(code_challenge) <= 128):
            raise OAuthError("code_challenge must be 43-128 characters with method S256 or plain")
        import jwt

        now = int(time.time())
        claims = {
            "aud": _CODE_AUDIENCE,
            "sub": str(principal.user_id),
            "u": principal.username,
            "v": principal.version,
            "c": hashlib.sha256(app.client_id.encode()).hexdigest(),
            "r": redirect_uri,
            "s": granted,
            "pc": code_challenge,
            "pm": method,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + CODE_TTL_S,
        }
        return jwt.encode(claims, self._tokens.derived_secret("oauth-code"), algorithm=_ALGORITHM)

    def code_grant(self, app: ClientApp, *, code: str, redirect_uri: str, code_verifier: str | None) -> Grant:
        import jwt

        try:
            claims = jwt.decode(
                code, self._tokens.derived_secret("oauth-code"), algorithms=[_ALGORITHM], audience=_CODE_AUDIENCE
            )
        except jwt.PyJWTError:
            raise OAuthError("the authorization code is invalid or expired", code="invalid_grant") from None
        if claims.get("c") != hashlib.sha256(app.client_id.encode()).hexdigest() or claims.get("r") != redirect_uri:
            raise OAuthError(
                "the authorization code was issued to another client or redirect_uri", code="invalid_grant"
            )
        if claims.get("pc") is not None and not _pkce_ok(str(claims["pc"]), str(claims.get("pm")), code_verifier):
            raise OAuthError("code_verifier does not match the code_challenge", code="invalid_grant")
        # Once only: a code seen again (replayed, or a retry after the first answer was lost) grants nothing.
        if self._idempotency.claim(f"oauth-code:{claims['jti']}", "redeemed", CODE_TTL_S) is not None:
            raise OAuthError("the authorization code was already used", code="invalid_grant")
        user = Principal(int(claims["sub"]), str(claims["u"]), version=int(claims.get("v", 0)))
        return self._grant(user, str(claims["s"]))

    def sign_in(self, *, username: str, password: str, source_ip: str) -> Principal:
        """The consent page's sign-in: Chirp's own log-in (its rate limits included)."""
        login = self._auth.login(username=username, password=password, source_ip=source_ip)
        return self._tokens.verify(login["token"])

    @staticmethod
    def check_redirect(app: ClientApp, redirect_uri: str) -> None:
        if redirect_uri not in app.redirect_uris:
            raise OAuthError("redirect_uri is not one this app registered", code="invalid_request")

    def _grant(self, principal: Principal, scope: str) -> Grant:
        now = int(time.time())
        token = self._tokens.issue(principal, now=now, scope=scope)
        return Grant(access_token=token, scope=scope, created_at=now, expires_in=self._tokens.ttl_s)


def require_user(principal: Principal) -> Principal:
    """A user route refuses an app-only (client credentials) token."""
    if principal.user_id == 0 or not principal.username:
        raise Forbidden("This method requires an authenticated user", code="user_required")
    return principal


def _pkce_ok(challenge: str, method: str, verifier: str | None) -> bool:
    if not verifier or not 43 <= len(verifier) <= 128:
        return False
    if method == "plain":
        return hmac.compare_digest(challenge, verifier)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(challenge, digest)
