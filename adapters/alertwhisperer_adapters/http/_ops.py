"""Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response

from ._context import app_services
from ._errors import error_response
from ._io import json_response
from ._routing import AUTH_NONE, Endpoint
from ._views import StatusOut

__all__ = ["ENDPOINTS"]

logger = logging.getLogger("alertwhisperer.http")
READY_TIMEOUT_SECONDS = 5.0


async def healthz(_request: Request) -> Response:
    return json_response(StatusOut(status="ok"))


async def readyz(request: Request) -> Response:
    app = app_services(request)
    try:
        await asyncio.wait_for(app.ping(), READY_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return error_response(503, "Database unreachable")
    return json_response(StatusOut(status="ready"))


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
        "Readiness: the database answers",
        "operations",
        auth=AUTH_NONE,
        response=StatusOut,
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
