"""Domain errors. Each carries a stable machine code and the HTTP status it maps to (one place: chirp.http)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chirp.model import RateDecision


class ChirpError(Exception):
    """Base class for every error a client may see."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers: dict[str, str] = headers or {}


class ValidationFailed(ChirpError):
    status = 400
    code = "validation_error"


class Unauthorized(ChirpError):
    status = 401
    code = "unauthorized"


class Forbidden(ChirpError):
    status = 403
    code = "forbidden"


class NotFound(ChirpError):
    status = 404
    code = "not_found"


class Conflict(ChirpError):
    status = 409
    code = "conflict"


class Unprocessable(ChirpError):
    """Well-formed, but cannot be applied as asked (e.g. an Idempotency-Key reused for a different request)."""

    status = 422
    code = "unprocessable"


class PayloadTooLarge(ChirpError):
    status = 413
    code = "payload_too_large"


class RateLimited(ChirpError):
    status = 429
    code = "rate_limited"

    @classmethod
    def of(cls, decision: RateDecision, message: str) -> RateLimited:
        """The refusal a rate limiter decided on: its limit, when to retry and when the window resets."""
        return cls(message, retry_after=decision.retry_after, limit=decision.limit, reset_epoch=decision.reset_epoch)

    def __init__(self, message: str, *, retry_after: int, limit: int, reset_epoch: int) -> None:
        super().__init__(
            message,
            headers={
                "Retry-After": str(max(1, retry_after)),
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset_epoch),
            },
        )
        self.retry_after = retry_after


class InternalError(ChirpError):
    """A bug: the client sees only this code, the details go to the log."""

    status = 500
    code = "internal"


class ServiceUnavailable(ChirpError):
    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
