"""Structured JSON logs with request ids, and the middleware that times and counts requests.

Every request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a new
one), echoed in the response's ``X-Request-ID`` and attached to every log line written while
the request runs, so one grep finds everything a request did.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._metrics import Metrics

__all__ = ["REQUEST_ID", "JsonFormatter", "RequestMiddleware", "configure_logging"]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Record attributes that are not "extra" fields; uvicorn's color_message repeats the message.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}

_INTERNAL_ERROR = b'{"detail":"Internal server error","errors":[]}'

access_logger = logging.getLogger("alertwhisperer.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every log record (ours and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the middleware logs each request
    # Migrations narrate every plugin they load at INFO; only their problems are news.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))


class RequestMiddleware:
    """Assigns the request id, times the request, counts it, and logs one access line."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Mapping[object, str]) -> None:
        self.app = app
        self.metrics = metrics
        # endpoint function -> path template, for bounded "route" labels
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        id_header = (b"x-request-id", request_id.encode())
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        started_response = False

        # One wrapper per request; only the start message is copied (to add the id).
        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outer error middleware so the log line
            # carries the request id and the client still gets the one error shape.
            logging.getLogger("alertwhisperer.http").exception(
                "unhandled error on %s %s", scope["method"], scope["path"]
            )
            if started_response:
                raise
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_INTERNAL_ERROR)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            elapsed = time.perf_counter() - started
            route = self.routes.get(scope.get("endpoint"), "unmatched")
            method = scope["method"]
            self.metrics.requests.inc(method, route, str(status))
            self.metrics.latency.observe(elapsed, method, route)
            # The access line's fields are only built when someone will read them.
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )
            REQUEST_ID.reset(token)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if _SANE_ID.fullmatch(candidate):
                    return candidate
                break
        # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
        return os.urandom(16).hex()
