"""Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ._context import app_services
from ._io import json_response
from ._routing import AUTH_NONE, Endpoint
from ._views import StatusOut

__all__ = ["ENDPOINTS"]

logger = logging.getLogger("alertwhisperer.http")
READY_TIMEOUT_SECONDS = 5.0
# What the server does while Redis is down (the webhook gate fails closed, see docs).
REDIS_DOWN_DEGRADED = "rate limiting per process"
REDIS_DOWN_DETAIL = (
    "redis unreachable: webhooks needing the HMAC replay guard or delivery ids answer 503"
)


class ReadinessOut(msgspec.Struct, frozen=True):
    """Each dependency (``ok``, ``unreachable``, ``not configured``) and what runs degraded."""

    status: str
    checks: dict[str, str]
    degraded: list[str]


class NotReadyOut(msgspec.Struct, frozen=True):
    """The error shape, with the same report as when ready."""

    detail: str
    errors: list[dict[str, Any]]
    status: str
    checks: dict[str, str]
    degraded: list[str]


async def healthz(_request: Request) -> Response:
    return json_response(StatusOut(status="ok"))


async def _check(name: str, ping: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(ping(), READY_TIMEOUT_SECONDS)
    except Exception as exc:
        # The exception's text may name hosts and addresses: only its type is logged.
        logger.warning("readiness check of %s failed: %s", name, type(exc).__name__)
        return "unreachable"
    return "ok"


async def readyz(request: Request) -> Response:
    app = app_services(request)
    pings = {"database": app.ping}
    if app.redis_ping is not None:
        pings["redis"] = app.redis_ping
    results = await asyncio.gather(*(_check(name, ping) for name, ping in pings.items()))
    checks = dict(zip(pings, results, strict=True))
    checks.setdefault("redis", "not configured")
    degraded = [REDIS_DOWN_DEGRADED] if checks["redis"] == "unreachable" else []
    down = [name for name, state in checks.items() if state == "unreachable"]
    if not down:
        return json_response(ReadinessOut(status="ready", checks=checks, degraded=degraded))
    details = {"database": "database unreachable", "redis": REDIS_DOWN_DETAIL}
    body = NotReadyOut(
        detail="Not ready: " + "; ".join(details[name] for name in down),
        errors=[{"field": name, "message": "unreachable"} for name in down],
        status="not ready",
        checks=checks,
        degraded=degraded,
    )
    return json_response(body, 503)


async def metrics(request: Request) -> Response:
    text = app_services(request).metrics.render()
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


async def openapi(request: Request) -> Response:
    document: bytes = request.state.openapi
    return Response(document, media_type="application/json")


ENDPOINTS = (
    Endpoint(
        "GET",
        "/healthz",
        healthz,
        "Liveness: the process answers",
        "operations",
        auth=AUTH_NONE,
        response=StatusOut,
    ),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        "Readiness: the database (and Redis, when configured) answer",
        "operations",
        auth=AUTH_NONE,
        response=ReadinessOut,
        errors=(503,),
    ),
    Endpoint(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics",
        "operations",
        auth=AUTH_NONE,
        media_types=("text/plain",),
    ),
    Endpoint(
        "GET",
        "/openapi.json",
        openapi,
        "This API's OpenAPI 3.1 document",
        "operations",
        auth=AUTH_NONE,
    ),
)
