"""Sign-up and log-in. Passwords are stored with scrypt; tokens are signed JWTs with expiry and key ids."""

from __future__ import annotations

from chirp import api_models as api
from chirp.config import Settings
from chirp.errors import Conflict, Forbidden, RateLimited, Unauthorized, ValidationFailed
from chirp.ids import new_id
from chirp.model import EventType, UserCreated, UserRecord, now_ms
from chirp.passwords import hash_password, verify_password
from chirp.ports import DuplicateKey
from chirp.services.stores import Stores
from chirp.text import EMAIL_RE, normalize, validate_username
from chirp.tokens import Principal, TokenCodec

MIN_PASSWORD, MAX_PASSWORD = 8, 128
MAX_DISPLAY_NAME = 50
LOGIN_WINDOW_S = 15 * 60
# Names that are routes of their own (``/users/me``, ``/users/suggestions``): nobody can sign up as them.
RESERVED_USERNAMES = frozenset({"me", "suggestions"})
# A hash to compare against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = hash_password("not-a-real-password")


class AuthService:
    def __init__(self, stores: Stores, tokens: TokenCodec, settings: Settings) -> None:
        self._s = stores
        self._tokens = tokens
        self._settings = settings

    def _limit(self, key: str, limit: int, window_s: int, what: str) -> None:
        decision = self._s.rate_limits.hit(key, limit=limit, window_s=window_s, now_ms=now_ms())
        if not decision.allowed:
            raise RateLimited.of(decision, f"too many {what}; retry later")

    def signup(
        self, *, username: str, email: str, password: str, display_name: str | None, source_ip: str = ""
    ) -> api.Signup:
        if source_ip:
            self._limit(
                f"signup-ip:{source_ip}", self._settings.signup_limit_per_ip, 3600, "sign-ups from this address"
            )
        username = validate_username(username)
        if username.lower() in RESERVED_USERNAMES:
            raise Conflict("username is already taken", code="username_taken")
        email = email.strip().lower()
        if len(email) > 254 or not EMAIL_RE.fullmatch(email):
            raise ValidationFailed("email is not a valid address", code="invalid_email")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise ValidationFailed(
                f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters", code="invalid_password"
            )
        name = normalize(display_name) if display_name is not None else username
        if not name or len(name) > MAX_DISPLAY_NAME:
            raise ValidationFailed(f"display_name must be 1-{MAX_DISPLAY_NAME} characters", code="invalid_display_name")
        user = UserRecord(
            user_id=new_id(),
            username=username,
            email=email,
            display_name=name,
            password_hash=hash_password(password),
            created_at_ms=now_ms(),
        )
        try:
            self._s.users.create(user)
        except DuplicateKey as exc:
            raise Conflict(f"{exc.field} is already taken", code=f"{exc.field}_taken") from None
        created = UserCreated(
            user_id=user.user_id,
            username=user.username,
            display_name=user.display_name,
            created_at_ms=user.created_at_ms,
        )
        self._s.stream.publish([created.event(EventType.USER_CREATED, user.user_id)])
        token = self._tokens.issue(Principal(user.user_id, user.username))
        return {
            "user_id": str(user.user_id),
            "username": user.username,
            "token": token,
            "expires_in": self._tokens.ttl_s,
        }

    def login(self, *, username: str, password: str, source_ip: str = "") -> api.Login:
        name = username.strip().lstrip("@").lower()
        if source_ip:
            self._limit(f"login-ip:{source_ip}", self._settings.login_limit_per_ip, LOGIN_WINDOW_S, "log-in attempts")
        self._limit(f"login-user:{name}", self._settings.login_limit_per_user, LOGIN_WINDOW_S, "log-in attempts")
        user = self._s.users.get_by_username(name)
        if not verify_password(password, user.password_hash if user else _DUMMY_HASH) or user is None:
            raise Unauthorized("wrong username or password", code="invalid_credentials")
        token = self._tokens.issue(Principal(user.user_id, user.username, user.token_version))
        return {
            "token": token,
            "expires_in": self._tokens.ttl_s,
            "user_id": str(user.user_id),
            "username": user.username,
        }

    def verify(self, token: str) -> Principal:
        return self._tokens.verify(token)

    def current(self, principal: Principal) -> Principal:
        """The authorizer's check beyond the signature: the account still exists and the token was issued under its
        current token version (a password change revokes every older token; API Gateway's cached decisions for a
        token expire within its authorizer cache TTL)."""
        user = self._s.users.get(principal.user_id)
        if user is None:
            raise Unauthorized("the account no longer exists", code="invalid_token")
        if user.token_version != principal.version:
            raise Unauthorized("the token was revoked by a password change; log in again", code="token_revoked")
        return principal

    def check_password(self, user: UserRecord, password: str) -> None:
        """Re-authentication for a sensitive change (password change, account deletion), rate limited like
        log-in attempts: a stolen token cannot guess the password faster than the login form could."""
        self._limit(
            f"login-user:{user.username_key}", self._settings.login_limit_per_user, LOGIN_WINDOW_S, "password attempts"
        )
        if not verify_password(password, user.password_hash):
            # 403, not 401: the token is good (a 401 would sign the client out); the password re-check failed.
            raise Forbidden("the password is wrong", code="wrong_password")

    def change_password(self, principal: Principal, *, current_password: str, new_password: str) -> api.Login:
        """Sets the new password and bumps the token version: every token issued before (other devices, a stolen
        one) stops working; the answer carries a fresh token for this client."""
        user = self._s.users.get(principal.user_id)
        if user is None:
            raise Unauthorized("the account no longer exists", code="invalid_token")
        self.check_password(user, current_password)
        if not MIN_PASSWORD <= len(new_password) <= MAX_PASSWORD:
            raise ValidationFailed(
                f"new_password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters", code="invalid_password"
            )
        user.password_hash = hash_password(new_password)
        user.token_version += 1
        self._s.users.update(user)
        token = self._tokens.issue(Principal(user.user_id, user.username, user.token_version))
        return {
            "token": token,
            "expires_in": self._tokens.ttl_s,
            "user_id": str(user.user_id),
            "username": user.username,
        }
