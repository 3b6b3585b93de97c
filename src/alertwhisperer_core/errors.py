"""The one error tree of Alert Whisperer.

Every error the core raises derives from :class:`AlertWhispererError`. Each leaf carries
``error_status_hint``, the HTTP status an adapter should answer with, so the HTTP layer maps
errors to responses in one table instead of knowing every leaf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "AlertWhispererError",
    "AuthenticationFailed",
    "Conflict",
    "FieldError",
    "InvalidTransition",
    "MalformedPayload",
    "NormalizationError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServiceUnavailable",
    "SignatureRejected",
    "ValidationError",
]

FieldError = Mapping[str, Any]
"""One entry of an error's ``errors`` list: at least ``{"field": ..., "message": ...}``."""


class AlertWhispererError(Exception):
    """Root of every error the core raises."""

    error_status_hint: ClassVar[int] = 500

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: tuple[FieldError, ...] = tuple(errors)


class MalformedPayload(AlertWhispererError):
    """The body is not parseable at all (for example not JSON)."""

    error_status_hint = 400


class ValidationError(AlertWhispererError):
    """Input parsed but a field has the wrong type or value."""

    error_status_hint = 422

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationError:
        """Build an error that names exactly one offending field."""
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class NormalizationError(ValidationError):
    """A source payload could not be turned into alerts; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])
        self.field = field
        self.message = message


class AuthenticationFailed(AlertWhispererError):
    """Unknown API key, bad credentials, expired token. One body for every cause."""

    error_status_hint = 401


class SignatureRejected(AuthenticationFailed):
    """A webhook signature is missing, wrong, stale, from the future or replayed.

    ``reason`` is for logs and metrics only; clients see the same body for every reason.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Invalid webhook signature")
        self.reason = reason


class PermissionDenied(AlertWhispererError):
    """Authenticated, inside one's tenant, but the role does not allow the action."""

    error_status_hint = 403


class NotFound(AlertWhispererError):
    """No such object, or an object of another tenant (never revealed as such)."""

    error_status_hint = 404


class Conflict(AlertWhispererError):
    """The request contradicts the current state (duplicate name, decided approval)."""

    error_status_hint = 409


class InvalidTransition(Conflict):
    """A state machine was asked for a transition its table does not have."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: cannot {event} from {state}")
        self.machine = machine
        self.state = state
        self.event = event


class PayloadTooLarge(AlertWhispererError):
    """The request body exceeds the size limit."""

    error_status_hint = 413


class RateLimited(AlertWhispererError):
    """The company's token bucket is empty.

    ``status`` is 429, or 503 for senders that drop a delivery answered 4xx (throttling must
    delay those alerts, never lose them).
    """

    error_status_hint = 429

    def __init__(
        self, retry_after_seconds: int, status: int = 429, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__("Rate limit exceeded")
        self.retry_after_seconds = retry_after_seconds
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})


class ServiceUnavailable(AlertWhispererError):
    """A shared back end the request depends on cannot answer (Redis down).

    Checks that must be exact across processes (the HMAC replay guard, delivery ids) fail
    closed: the request is refused with a 503, which every sender retries, rather than
    accepted unchecked.
    """

    error_status_hint = 503
