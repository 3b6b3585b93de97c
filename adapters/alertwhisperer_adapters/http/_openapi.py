"""``/openapi.json`` from the route table and the msgspec request and response structs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from ._routing import AUTH_API_KEY, AUTH_NONE, AUTH_USER, Endpoint
from ._views import ErrorOut, RateLimitedOut

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"{(\w+)}")
_ERROR_TEXT = {
    400: "Malformed JSON",
    401: "Not authenticated",
    403: "Not allowed for this role",
    404: "Not found (or another tenant's)",
    409: "Conflicts with the current state",
    413: "Body over 1 MiB",
    422: "A field has the wrong type or value (named in errors)",
    429: "Rate limited (Retry-After)",
    503: "Unavailable or throttled (retry later)",
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    AUTH_USER: [{"bearerAuth": []}, {"cookieAuth": []}],
    AUTH_API_KEY: [{"apiKeyQuery": []}, {"apiKeyHeader": []}],
    AUTH_NONE: [],
}


def _error_codes(endpoint: Endpoint) -> list[int]:
    codes = set(endpoint.errors)
    if endpoint.auth == AUTH_USER:
        codes |= {401, 403, 404, 422}
    if endpoint.body is not None:
        codes |= {400, 413, 422}
    if endpoint.query:
        codes.add(422)
    return sorted(codes)


def _content(media_types: Iterable[str], schema: dict[str, Any] | None) -> dict[str, Any]:
    return {m: {"schema": schema or {}} for m in media_types}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    parameters += [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": p.description,
            "schema": p.schema(),
        }
        for p in endpoint.query
    ]
    success_schema = _ref(endpoint.response) if endpoint.response else None
    responses: dict[str, Any] = {
        str(endpoint.status): {
            "description": endpoint.summary,
            **(
                {"content": _content(endpoint.media_types, success_schema)}
                if endpoint.media_types
                else {}
            ),
        }
    }
    for code in _error_codes(endpoint):
        if code < 400:
            responses[str(code)] = {
                "description": "Already received (duplicate delivery)",
                "content": _content(endpoint.media_types, success_schema),
            }
            continue
        schema = _ref(
            RateLimitedOut if code in (429, 503) and endpoint.auth == AUTH_API_KEY else ErrorOut
        )
        responses[str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": schema}},
        }
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
        "security": _SECURITY[endpoint.auth],
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    return operation


def _ref(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return {"$ref": _REF.format(name=struct.__name__)}


def openapi_document(endpoints: Iterable[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``."""
    endpoints = list(endpoints)
    structs: list[type[msgspec.Struct]] = [ErrorOut, RateLimitedOut]
    for endpoint in endpoints:
        structs += [s for s in (endpoint.body, endpoint.response) if s is not None]
    _, components = msgspec.json.schema_components(list(dict.fromkeys(structs)), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Alert Whisperer reference server. Errors are "
            '{"detail": "...", "errors": [{"field": ..., "message": ...}]}.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "aw_session"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
