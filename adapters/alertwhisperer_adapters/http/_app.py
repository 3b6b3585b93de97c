"""``create_app``: the Starlette application over a set of :class:`AppServices`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

import attrs
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from . import (
    _audit,
    _auth,
    _companies,
    _compliance,
    _incidents,
    _notifications,
    _ops,
    _remediation,
    _users,
    _webhooks,
)
from ._context import AppServices
from ._errors import EXCEPTION_HANDLERS
from ._logging import RequestMiddleware
from ._metrics import MeteredEventBus
from ._openapi import openapi_document
from ._routing import Endpoint

__all__ = ["ENDPOINTS", "create_app"]

ENDPOINTS: tuple[Endpoint, ...] = (
    *_auth.ENDPOINTS,
    *_users.ENDPOINTS,
    *_companies.ENDPOINTS,
    *_compliance.ENDPOINTS,
    *_webhooks.ENDPOINTS,
    *_incidents.ENDPOINTS,
    *_remediation.ENDPOINTS,
    *_audit.ENDPOINTS,
    *_notifications.ENDPOINTS,
    *_ops.ENDPOINTS,
)
"""Every route of the reference server (SPEC §11, without the real-time part)."""


def _version() -> str:
    try:
        return metadata.version("alertwhisperer")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def create_app(services: AppServices, endpoints: Iterable[Endpoint] = ENDPOINTS) -> Starlette:
    """The reference server's ASGI app. Nothing happens until a server runs its lifespan,
    which hands ``services`` to the handlers and closes them at shutdown."""
    table = tuple(endpoints)
    # The app counts the incidents it opens from the events it publishes.
    metered = MeteredEventBus(services.services.events, services.metrics)
    services = attrs.evolve(services, services=attrs.evolve(services.services, events=metered))
    document = msgspec.json.encode(
        openapi_document(table, title="Alert Whisperer", version=_version())
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        if services.startup is not None:
            await services.startup()
        try:
            yield {"services": services, "openapi": document}
        finally:
            if services.close is not None:
                await services.close()

    return Starlette(
        routes=[Route(e.path, e.handler, methods=[e.method], name=e.operation_id) for e in table],
        middleware=[
            Middleware(
                RequestMiddleware,
                metrics=services.metrics,
                routes={e.handler: e.path for e in table},
            )
        ],
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=lifespan,
    )
