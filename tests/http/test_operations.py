"""Errors, request ids and logs, health and readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from alertwhisperer_adapters.http import ENDPOINTS, Endpoint, JsonFormatter, create_app
from alertwhisperer_adapters.http._logging import REQUEST_ID
from alertwhisperer_adapters.http._metrics import Counter, Histogram

from ..support.api import Api, running_api

ALERT = {"asset_name": "web-01", "signature": "cpu_high"}


def test_unknown_route_is_404_in_the_error_shape(api: Api) -> None:
    response = api.client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "errors": []}


def test_wrong_method_is_405_in_the_error_shape(api: Api) -> None:
    response = api.client.delete("/api/incidents", headers=api.auth("msp"))
    assert response.status_code == 405
    assert set(response.json()) == {"detail", "errors"}


def test_bad_query_parameter_is_422_naming_it(api: Api) -> None:
    response = api.client.get("/api/alerts?limit=9000", headers=api.auth("msp"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"
    response = api.client.get("/api/alerts?severity=loud", headers=api.auth("msp"))
    assert response.json()["errors"][0]["field"] == "severity"
    response = api.client.get("/api/incidents?since=yesterday", headers=api.auth("msp"))
    assert response.json()["errors"][0]["field"] == "since"


async def _explode(_request: Request) -> Response:
    raise RuntimeError("secret internals /etc/passwd line 42")


def test_unexpected_error_is_a_bare_500_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    boom = Endpoint("GET", "/boom", _explode, "Fails", "test")
    with running_api() as api:
        app = create_app(api.app, endpoints=(*ENDPOINTS, boom))
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom", headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "errors": []}
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-boom"
    logged = [r for r in caplog.records if r.name == "alertwhisperer.http"]
    assert logged
    assert logged[0].exc_info is not None


def test_request_id_is_echoed_or_generated(api: Api) -> None:
    echoed = api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = api.client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] not in ("", "bad id with spaces")
    assert len(generated.headers["x-request-id"]) == 32


def test_access_log_line_carries_the_request_id(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="alertwhisperer.access"):
        api.client.get("/healthz", headers={"X-Request-ID": "trace-me"})
    [record] = [r for r in caplog.records if r.name == "alertwhisperer.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/healthz"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert "duration_ms" in line


def test_json_formatter_adds_the_current_request_id() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    token = REQUEST_ID.set("rid-7")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "hello you"
    assert line["request_id"] == "rid-7"
    assert line["level"] == "warning"


def test_json_formatter_keeps_extra_fields_and_drops_uvicorns_colour_copy() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "started", (), None)
    record.color_message = "\x1b[36mstarted\x1b[0m"
    record.port = 8000
    line = json.loads(JsonFormatter().format(record))
    assert "color_message" not in line
    assert line["port"] == 8000


def test_healthz_and_readyz_answer_when_all_is_well(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "not configured"},
        "degraded": [],
    }


def test_readyz_is_503_when_the_store_does_not_answer() -> None:
    async def down() -> None:
        raise ConnectionError("database at 10.0.0.5 refused")

    with running_api(ping=down) as api:
        response = api.client.get("/readyz")
        assert response.status_code == 503
        assert "10.0.0.5" not in response.text
        assert response.json()["checks"] == {"database": "unreachable", "redis": "not configured"}
        assert response.json()["errors"] == [{"field": "database", "message": "unreachable"}]
        assert api.client.get("/healthz").status_code == 200


def test_metrics_count_requests_ingestion_throttling_and_rejections(api: Api) -> None:
    key = api.acme.api_key
    api.client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
    api.client.post("/api/webhooks/alerts?api_key=wrong", json=ALERT)
    api.client.post(f"/api/webhooks/alerts?api_key={key}", content=b"{")
    api.client.put(
        f"/api/companies/{api.acme.company_id}/settings",
        headers=api.auth("msp"),
        json={"rate_limit": {"requests_per_minute": 1, "burst": 1}},
    )
    api.client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
    api.client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
    text = api.client.get("/metrics").text
    assert (
        'aw_http_requests_total{method="POST",route="/api/webhooks/alerts",status="202"} 2' in text
    )
    assert 'aw_alerts_ingested_total{source="generic"} 2' in text
    # The setup's incidents were opened before the app ran; "web-01|cpu_high" is the one here.
    assert "aw_incidents_opened_total 1" in text
    assert 'aw_webhook_throttled_total{status="429"} 1' in text
    assert 'aw_webhook_rejected_total{reason="api_key"} 1' in text
    assert 'aw_webhook_rejected_total{reason="malformed"} 1' in text
    bucket = 'aw_http_request_duration_seconds_bucket{method="POST",route="/api/webhooks/alerts"'
    assert f'{bucket},le="+Inf"}} 5' in text
    assert "# TYPE aw_http_request_duration_seconds histogram" in text


def test_unmatched_paths_share_one_route_label(api: Api) -> None:
    api.client.get("/random/a")
    api.client.get("/random/b")
    assert 'route="unmatched",status="404"} 2' in api.client.get("/metrics").text


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram("h", "help", ("a",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 5.0):
        histogram.observe(value, "x")
    lines = list(histogram.render())
    assert 'h_bucket{a="x",le="0.1"} 2' in lines
    assert 'h_bucket{a="x",le="1"} 3' in lines
    assert 'h_bucket{a="x",le="+Inf"} 4' in lines
    assert 'h_count{a="x"} 4' in lines


def test_counter_escapes_label_values() -> None:
    counter = Counter("c", "help", ("l",))
    counter.inc('a"b\\c\nd')
    assert 'c{l="a\\"b\\\\c\\nd"} 1' in list(counter.render())


def test_openapi_describes_every_route_with_its_schemas(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    described = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert described == {(e.method, e.path) for e in ENDPOINTS}
    create = document["paths"]["/api/companies"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewCompany"
    }
    assert "201" in create["responses"]
    assert "NewCompany" in document["components"]["schemas"]
    assert "CompanyCreated" in document["components"]["schemas"]
    webhook = document["paths"]["/api/webhooks/alerts"]["post"]
    assert {"202", "200", "401", "413", "429", "503"} <= set(webhook["responses"])
