"""The reference HTTP server: ``create_app(services)`` builds the Starlette app (SPEC §11)."""

from ._app import ENDPOINTS, create_app
from ._auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from ._context import AppServices
from ._logging import JsonFormatter, configure_logging
from ._metrics import Metrics
from ._routing import Endpoint

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "ENDPOINTS",
    "SESSION_COOKIE",
    "AppServices",
    "Endpoint",
    "JsonFormatter",
    "Metrics",
    "configure_logging",
    "create_app",
]
