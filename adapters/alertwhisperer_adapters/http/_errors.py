"""The one exception-handler table: every error becomes ``{"detail": ..., "errors": [...]}``.

Core errors carry their status in ``error_status_hint``, so one handler covers the whole tree.
Anything unexpected is logged with its traceback and answered with a bare 500: clients never
see a stack trace or an exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import (
    AlertWhispererError,
    AuthenticationFailed,
    RateLimited,
    ServiceUnavailable,
)
from alertwhisperer_core.ports import TransientConflict

from ._io import json_response
from ._views import ErrorOut, RateLimitedOut

__all__ = ["EXCEPTION_HANDLERS", "error_response"]

logger = logging.getLogger("alertwhisperer.http")
_WEBHOOKS = "/api/webhooks/"
_UNAVAILABLE_RETRY_AFTER = "5"  # seconds: a shared back end (Redis) is down


def error_response(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error in the API's one shape."""
    return json_response(ErrorOut(detail=detail, errors=errors or []), status, headers)


async def _core_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AlertWhispererError)
    if isinstance(exc, RateLimited):
        body = RateLimitedOut(
            detail=exc.detail,
            errors=[],
            retry_after_seconds=exc.retry_after_seconds,
            # Only two things throttle: the webhook's token bucket and the login lockout.
            backoff_policy="token bucket"
            if request.url.path.startswith(_WEBHOOKS)
            else "login lockout",
        )
        limited = {"Retry-After": str(exc.retry_after_seconds), **exc.headers}
        return json_response(body, exc.status, limited)
    headers = None
    # The webhook authenticates with an API key, not a bearer token: no challenge there.
    if isinstance(exc, AuthenticationFailed) and not request.url.path.startswith(_WEBHOOKS):
        headers = {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, ServiceUnavailable):
        headers = {"Retry-After": _UNAVAILABLE_RETRY_AFTER}
    if exc.error_status_hint >= 500:
        logger.error("core error answered %s: %s", exc.error_status_hint, exc.detail)
    return error_response(exc.error_status_hint, exc.detail, [dict(e) for e in exc.errors], headers)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), None, exc.headers)


async def _transient(_request: Request, _exc: Exception) -> Response:
    # Lost every retry of a race on one key: a 503 makes every sender try again later.
    return error_response(503, "Busy: please retry", None, {"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(500, "Internal server error")


EXCEPTION_HANDLERS: Mapping[Any, Any] = {
    AlertWhispererError: _core_error,
    TransientConflict: _transient,
    HTTPException: _http_error,
    Exception: _unexpected,
}
"""Starlette's ``exception_handlers``: core errors, routing errors (404/405), the rest (500)."""
