"""Reading requests and writing responses: bounded bodies, typed query parameters, JSON."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

import attrs
import msgspec
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import PayloadTooLarge, ValidationError
from alertwhisperer_core.service import DEFAULT_LIMIT, MAX_BODY_BYTES, MAX_LIMIT

__all__ = [
    "CURSOR",
    "LIMIT",
    "EnumParam",
    "IntParam",
    "JSONResponse",
    "Param",
    "TextParam",
    "TimeParam",
    "header_map",
    "json_response",
    "query_map",
    "read_body",
]

_ENCODER = msgspec.json.Encoder()
E = TypeVar("E", bound=enum.Enum)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content)


def json_response(
    content: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Response:
    """Encode ``content`` (structs, dicts, lists) with msgspec."""
    return JSONResponse(content, status_code=status, headers=headers, background=background)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a body
    without one (chunked) is counted while it streams, so no more than ``limit`` bytes plus
    one chunk are ever held.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def header_map(request: Request) -> dict[str, str]:
    """The request's headers as a plain dict (names lower-cased, as ASGI sends them), the
    first value of a repeated header winning: what ``dict(request.headers)`` gives, without
    its scan of every header for every name."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in reversed(request.scope["headers"])
    }


def query_map(request: Request) -> dict[str, str]:
    """The query parameters as a plain dict, the last value of a repeated one winning (as
    ``dict(request.query_params)`` gives), parsed straight from the query string."""
    query: bytes = request.scope.get("query_string", b"")
    if not query:
        return {}
    return dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))


@attrs.frozen
class Param:
    """A query parameter: how ``/openapi.json`` describes it."""

    name: str
    description: str

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def raw(self, request: Request) -> str | None:
        value = request.query_params.get(self.name)
        return value if value not in (None, "") else None


@attrs.frozen
class TextParam(Param):
    max_length: int = 200

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length}

    def get(self, request: Request) -> str | None:
        value = self.raw(request)
        if value is not None and len(value) > self.max_length:
            raise ValidationError.for_field(
                self.name, f"must be at most {self.max_length} characters"
            )
        return value


@attrs.frozen
class IntParam(Param):
    default: int
    minimum: int
    maximum: int

    def schema(self) -> dict[str, Any]:
        return {
            "type": "integer",
            "minimum": self.minimum,
            "maximum": self.maximum,
            "default": self.default,
        }

    def get(self, request: Request) -> int:
        value = self.raw(request)
        if value is None:
            return self.default
        try:
            number = int(value)
        except ValueError:
            raise ValidationError.for_field(self.name, "must be an integer") from None
        if not self.minimum <= number <= self.maximum:
            raise ValidationError.for_field(
                self.name, f"must be between {self.minimum} and {self.maximum}"
            )
        return number


@attrs.frozen
class TimeParam(Param):
    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}

    def get(self, request: Request) -> datetime | None:
        value = self.raw(request)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError.for_field(
                self.name, "must be an ISO 8601 time with a zone, like 2025-01-25T10:30:00Z"
            ) from None
        if parsed.utcoffset() is None:
            raise ValidationError.for_field(self.name, "must include a time zone (e.g. Z)")
        return parsed


@attrs.frozen
class EnumParam(Param, Generic[E]):
    enum: type[E]

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": [m.value for m in self.enum]}

    def get(self, request: Request) -> E | None:
        value = self.raw(request)
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in self.enum)
            raise ValidationError.for_field(self.name, f"must be one of {allowed}") from None


CURSOR = TextParam("cursor", "Opaque cursor from the previous page's next_cursor.", 1000)
LIMIT = IntParam("limit", "Page size.", DEFAULT_LIMIT, 1, MAX_LIMIT)
