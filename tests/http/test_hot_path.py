"""The webhook's hot path shortcuts answer exactly what the general code they replace does.

The route table is reordered (the webhook first) and the webhook handler reads headers and
query parameters without Starlette's ``Headers``/``QueryParams``; these tests pin that neither
changes an answer.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.routing import Match, Route

from alertwhisperer_adapters.http import ENDPOINTS
from alertwhisperer_adapters.http._io import header_map, query_map
from alertwhisperer_adapters.http._webhooks import receive_alerts

from ..support.api import Api

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _first_match(routes: list[Route], method: str, path: str) -> tuple[str | None, Match]:
    """What Starlette's router picks: the first full match, else the first partial one."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.name, Match.FULL
        if match is Match.PARTIAL and partial is None:
            partial = route.name
    return partial, Match.PARTIAL if partial else Match.NONE


def test_the_webhook_route_is_tried_first(api: Api) -> None:
    first = api.client.app.routes[0]  # type: ignore[attr-defined]
    assert isinstance(first, Route)
    assert first.endpoint is receive_alerts


def test_reordering_the_routes_changes_no_answer(api: Api) -> None:
    served = [r for r in api.client.app.routes if isinstance(r, Route)]  # type: ignore[attr-defined]
    declared = [
        Route(e.path, e.handler, methods=[e.method], name=e.operation_id) for e in ENDPOINTS
    ]
    paths = {re.sub(r"\{[^}]+\}", "x-1", e.path) for e in ENDPOINTS}
    paths |= {"/api/webhooks/alerts/", "/api/webhooks", "/api/webhooks/x-1", "/nothing"}
    # Dashboard routes come after the table in both; only the table's order moved.
    table_names = {e.operation_id for e in ENDPOINTS}
    served = [r for r in served if r.name in table_names]
    assert len(served) == len(declared)
    for path in sorted(paths):
        for method in _METHODS:
            expected = _first_match(declared, method, path)
            assert _first_match(served, method, path) == expected, (method, path)


def test_a_get_on_the_webhook_path_is_still_405(api: Api) -> None:
    assert api.client.get("/api/webhooks/alerts").status_code == 405


def _request(headers: list[tuple[bytes, bytes]], query: bytes) -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": query}
    )


_TOKEN = st.text(alphabet="abcxyz-", min_size=1, max_size=3)
_VALUE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=8)


@given(st.lists(st.tuples(_TOKEN, _VALUE), max_size=8))
def test_header_map_is_dict_of_starlette_headers(pairs: list[tuple[str, str]]) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
    request = _request(raw, b"")
    # Repeated names: Starlette's mapping gives the first value; so must ours.
    assert header_map(request) == dict(request.headers)


@given(
    st.lists(
        st.tuples(_TOKEN, st.text(alphabet="ab=&%20+;é", max_size=6)),
        max_size=6,
    ),
    st.booleans(),
)
def test_query_map_is_dict_of_starlette_query_params(
    pairs: list[tuple[str, str]], raw_values: bool
) -> None:
    if raw_values:  # unescaped, odd bytes as senders may send them
        query = "&".join(f"{k}={v}" for k, v in pairs).encode()
    else:
        query = urlencode(pairs).encode()
    request = _request([], query)
    # Repeated names: Starlette's mapping gives the last value; so must ours.
    assert query_map(request) == dict(request.query_params)


def test_query_map_of_an_empty_or_absent_query_string_is_empty() -> None:
    assert query_map(_request([], b"")) == {}
    assert query_map(Request({"type": "http", "method": "POST", "path": "/", "headers": []})) == {}
