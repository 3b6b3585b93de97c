"""``POST /api/webhooks/alerts`` through HTTP: answers, headers, limits, signatures, hooks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from alertwhisperer_adapters.http._io import read_body
from alertwhisperer_core import PayloadTooLarge, Risk, Runbook, sign_hmac
from alertwhisperer_core.service import MAX_BODY_BYTES

from ..support.api import Api

FIXTURES = Path(__file__).parents[1] / "fixtures"
ALERT = {"asset_name": "web-01", "signature": "cpu_high", "severity": "high", "message": "CPU"}


def _url(api: Api, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"api_key": api.acme.api_key, **query}.items())
    return f"/api/webhooks/alerts?{params}"


def _throttle(api: Api) -> None:
    response = api.client.put(
        f"/api/companies/{api.acme.company_id}/settings",
        headers=api.auth("acme_admin"),
        json={"rate_limit": {"requests_per_minute": 1, "burst": 1}},
    )
    assert response.status_code == 200


def test_accepted_delivery_is_202_with_ids_and_rate_limit_headers(api: Api) -> None:
    response = api.client.post(_url(api), json=ALERT)
    assert response.status_code == 202
    body = response.json()
    assert body["duplicate"] is False
    assert len(body["alert_ids"]) == 1
    assert len(body["incident_ids"]) == 1
    assert {"x-ratelimit-limit", "x-ratelimit-burst", "x-ratelimit-remaining"} <= set(
        response.headers
    )


def test_api_key_may_come_in_the_x_api_key_header(api: Api) -> None:
    response = api.client.post(
        "/api/webhooks/alerts", json=ALERT, headers={"X-API-Key": api.acme.api_key}
    )
    assert response.status_code == 202


def test_repeated_delivery_id_is_200_with_the_first_answer(api: Api) -> None:
    headers = {"X-Delivery-ID": "delivery-1"}
    first = api.client.post(_url(api), json=ALERT, headers=headers).json()
    again = api.client.post(_url(api), json=ALERT, headers=headers)
    assert again.status_code == 200
    assert again.json() == {**first, "duplicate": True}


@pytest.mark.parametrize("key", ["", "aw_wrong"])
def test_missing_or_unknown_api_key_is_401_with_one_body(api: Api, key: str) -> None:
    response = api.client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or missing API key", "errors": []}
    assert "www-authenticate" not in response.headers


def test_throttled_generic_sender_gets_429_with_retry_after_and_the_spec_body(api: Api) -> None:
    _throttle(api)
    assert api.client.post(_url(api), json=ALERT).status_code == 202
    response = api.client.post(_url(api), json=ALERT)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert response.headers["x-ratelimit-limit"] == "1"
    assert response.headers["x-ratelimit-burst"] == "1"
    assert response.headers["x-ratelimit-remaining"] == "0"
    body = response.json()
    assert body["detail"] == "Rate limit exceeded"
    assert body["retry_after_seconds"] == 60
    assert body["backoff_policy"] == "token bucket"


def test_throttled_alertmanager_gets_503_so_it_retries(api: Api) -> None:
    _throttle(api)
    payload = (FIXTURES / "alertmanager-webhook-v4-captured.json").read_bytes()
    headers = {"User-Agent": "Alertmanager/0.25.0", "Content-Type": "application/json"}
    assert api.client.post(_url(api), content=payload, headers=headers).status_code == 202
    response = api.client.post(_url(api), content=payload, headers=headers)
    assert response.status_code == 503
    assert response.json()["retry_after_seconds"] == int(response.headers["retry-after"])


def test_body_over_one_mebibyte_is_413_and_stores_nothing(api: Api) -> None:
    alerts_before = len(api.world.store.alerts)
    body = json.dumps({**ALERT, "message": "x" * MAX_BODY_BYTES}).encode()
    response = api.client.post(_url(api), content=body)
    assert response.status_code == 413
    assert response.json()["errors"] == []
    assert len(api.world.store.alerts) == alerts_before


def test_chunked_body_over_the_limit_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * (64 * 1024)

    response = api.client.post(_url(api), content=chunks())
    assert response.status_code == 413


async def test_reading_stops_at_the_first_chunk_past_the_limit() -> None:
    sent = 0

    async def receive() -> dict[str, object]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(PayloadTooLarge):
        await read_body(request, limit=MAX_BODY_BYTES)
    assert sent == MAX_BODY_BYTES // 65536 + 1


def test_malformed_json_is_400(api: Api) -> None:
    response = api.client.post(_url(api), content=b'{"asset_name": ')
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}


def test_unrecognised_payload_is_422_naming_a_field(api: Api) -> None:
    response = api.client.post(_url(api), json={"asset_name": "a", "signature": 5})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "signature"


def test_hmac_enabled_through_the_api_requires_a_valid_signature(api: Api) -> None:
    secret = api.client.post(
        f"/api/companies/{api.acme.company_id}/hmac/enable", headers=api.auth("acme_admin")
    ).json()["hmac_secret"]
    body = json.dumps(ALERT).encode()
    assert api.client.post(_url(api), content=body).status_code == 401
    timestamp = int(api.world.clock.now().timestamp())
    headers = {"X-Timestamp": str(timestamp), "X-Signature": sign_hmac(secret, body, timestamp)}
    assert api.client.post(_url(api), content=body, headers=headers).status_code == 202
    replay = api.client.post(_url(api), content=body, headers=headers)
    assert replay.status_code == 401
    assert replay.json() == {"detail": "Invalid webhook signature", "errors": []}


def test_low_risk_runbook_reaches_the_remediation_hook_after_the_answer(api: Api) -> None:
    runbook = Runbook(
        id="rb-1",
        name="Restart",
        signature="service_down:*",
        risk=Risk.LOW,
        actions=("systemctl restart nginx",),
    )
    api.world.store.runbooks[runbook.id] = runbook
    response = api.client.post(_url(api), json={**ALERT, "signature": "service_down:nginx"})
    assert response.status_code == 202
    deadline = time.monotonic() + 5
    while not api.remediations and time.monotonic() < deadline:
        time.sleep(0.01)
    [requests] = api.remediations
    assert [r.runbook.id for r in requests] == ["rb-1"]
    assert requests[0].incident.id == response.json()["incident_ids"][0]


def test_no_remediation_hook_call_without_a_runbook(api: Api) -> None:
    assert api.client.post(_url(api), json=ALERT).status_code == 202
    assert api.remediations == []


def test_every_fixture_source_is_accepted(api: Api) -> None:
    for name in (
        "alertmanager-webhook-v4-captured.json",
        "datadog-webhook-triggered.json",
        "zabbix-webhook-problem.json",
        "cloudwatch-sns-alarm.json",
        "generic-seed-format.json",
    ):
        payload = (FIXTURES / name).read_bytes()
        response = api.client.post(_url(api), content=payload)
        assert response.status_code == 202, (name, response.text)


def test_a_delivery_that_keeps_losing_races_is_503_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alertwhisperer_adapters.http import _webhooks
    from alertwhisperer_core.ports import TransientConflict

    async def always_conflicting(*_args: object, **_kwargs: object) -> None:
        raise TransientConflict("write conflict")

    monkeypatch.setattr(_webhooks, "ingest_webhook", always_conflicting)
    response = api.client.post(_url(api), json=ALERT)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"detail": "Busy: please retry", "errors": []}
