"""The route table's entries: one :class:`Endpoint` per method and path.

The same table builds the Starlette routes, ``/openapi.json`` and the tests' walk over every
route, so a route cannot exist without being documented and checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ._io import Param

__all__ = ["AUTH_API_KEY", "AUTH_NONE", "AUTH_USER", "Endpoint", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]

AUTH_USER = "user"  # bearer token or session cookie (with CSRF token on writes)
AUTH_API_KEY = "api_key"  # a company's webhook API key
AUTH_NONE = "none"


@attrs.frozen
class Endpoint:
    """One operation: what it does, what it takes and what it answers."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: str = AUTH_USER
    body: type[msgspec.Struct] | None = None
    query: tuple[Param, ...] = ()
    status: int = 200
    response: type[msgspec.Struct] | None = None
    media_types: tuple[str, ...] = ("application/json",)
    errors: tuple[int, ...] = ()
    description: str = ""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__
