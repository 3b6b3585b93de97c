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

from ..realtime import TeeEventBus
from ..realtime import _ws as realtime_ws
from . import (
    _audit,
    _auth,
    _chat,
    _cloud_credentials,
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
from ._dashboard import dashboard_routes
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
    *_cloud_credentials.ENDPOINTS,
    *_compliance.ENDPOINTS,
    *_webhooks.ENDPOINTS,
    *_incidents.ENDPOINTS,
    *_remediation.ENDPOINTS,
    *_audit.ENDPOINTS,
    *_notifications.ENDPOINTS,
    *_chat.ENDPOINTS,
    *_ops.ENDPOINTS,
)
"""Every HTTP route of the reference server (SPEC §11); ``WS /ws`` is mounted beside them."""


def _version() -> str:
    try:
        return metadata.version("alertwhisperer")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def create_app(services: AppServices, endpoints: Iterable[Endpoint] = ENDPOINTS) -> Starlette:
    """The reference server's ASGI app. Nothing happens until a server runs its lifespan,
    which hands ``services`` to the handlers and closes them at shutdown."""
    table = tuple(endpoints)
    # The app's events reach the WebSocket feed (which is the core's bus itself when the
    # composition root wires it so), and the app counts the incidents it opens from them.
    events = services.services.events
    if events is not services.feed:
        events = TeeEventBus(events, services.feed)
    metered = MeteredEventBus(events, services.metrics)
    services = attrs.evolve(services, services=attrs.evolve(services.services, events=metered))
    document = msgspec.json.encode(
        openapi_document(table, title="Alert Whisperer", version=_version())
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        if services.startup is not None:
            await services.startup()
        await services.feed.start()
        try:
            yield {"services": services, "openapi": document}
        finally:
            try:
                await services.feed.close()
            finally:
                if services.close is not None:
                    await services.close()

    # The dashboard's pages and files: not API operations, so not in the table or the schema.
    dashboard = dashboard_routes()
    # Starlette tries routes in order, one regex each: the webhook, which carries nearly all
    # the traffic, goes first. Its path is static and matches no other route's pattern, so
    # the order changes no answer (tests/http/test_webhook_route.py checks that).
    hot_first = sorted(table, key=lambda e: e.handler is not _webhooks.receive_alerts)
    return Starlette(
        routes=[
            *(Route(e.path, e.handler, methods=[e.method], name=e.operation_id) for e in hot_first),
            realtime_ws.websocket_route(),
            *dashboard,
        ],
        middleware=[
            Middleware(
                RequestMiddleware,
                metrics=services.metrics,
                routes={e.handler: e.path for e in table} | {r.endpoint: r.path for r in dashboard},
            )
        ],
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=lifespan,
    )
