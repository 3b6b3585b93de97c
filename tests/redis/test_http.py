"""The real app over SQLite and a private Redis: shared limits, duplicates, readiness, outage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from alertwhisperer_adapters.bootstrap import (
    DEFAULT_ADMIN_EMAIL,
    ServerConfig,
    build_app_services,
)
from alertwhisperer_adapters.http import create_app
from alertwhisperer_core import sign_hmac

from .support import PrivateRedis, private_redis, restart

pytestmark = pytest.mark.redis

PASSWORD = "redis http test password"
ALERT = {"asset_name": "srv-db-01", "signature": "disk_full", "severity": "critical"}


@contextmanager
def _client(tmp_path: Path, redis_url: str) -> Iterator[TestClient]:
    env = {
        "AW_DATABASE_URL": f"sqlite:///{tmp_path}/aw.db",
        "AW_REDIS_URL": redis_url,
        "AW_ADMIN_PASSWORD": PASSWORD,
        "AW_SECRET_KEY": "k" * 40,
    }
    config = ServerConfig.from_env(env, var_dir=tmp_path / "var")
    with TestClient(create_app(build_app_services(config, create_first_admin=True))) as client:
        yield client


def _company(
    client: TestClient, *, burst: int = 100, rpm: int = 60
) -> tuple[str, str, dict[str, str]]:
    """A new company with the given limit: its id, API key and the admin's auth header."""
    login = client.post(
        "/api/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": PASSWORD}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = client.post(
        "/api/companies", json={"name": f"Acme {time.monotonic_ns()}"}, headers=auth
    )
    assert created.status_code == 201, created.text
    company_id, api_key = created.json()["company"]["id"], created.json()["api_key"]
    settings = {"rate_limit": {"requests_per_minute": rpm, "burst": burst}}
    updated = client.put(f"/api/companies/{company_id}/settings", json=settings, headers=auth)
    assert updated.status_code == 200, updated.text
    return company_id, api_key, auth


@pytest.fixture
def server() -> Iterator[PrivateRedis]:
    with private_redis() as running:
        yield running


def test_two_app_instances_share_one_companys_rate_limit(
    tmp_path: Path, server: PrivateRedis
) -> None:
    with ExitStack() as stack:
        one = stack.enter_context(_client(tmp_path, server.url))
        two = stack.enter_context(_client(tmp_path, server.url))
        _, key, _ = _company(one, burst=5, rpm=1)
        statuses = [
            client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT).status_code
            for client in (one, two) * 4
        ]
    assert sorted(statuses) == [202] * 5 + [429] * 3
    # Each alone would have let 4 of its 4 through: the bucket is the one in Redis.
    assert statuses[:5] == [202] * 5


def test_a_delivery_accepted_by_one_instance_is_a_duplicate_on_the_other(
    tmp_path: Path, server: PrivateRedis
) -> None:
    with ExitStack() as stack:
        one = stack.enter_context(_client(tmp_path, server.url))
        two = stack.enter_context(_client(tmp_path, server.url))
        company_id, key, _ = _company(one)
        headers = {"X-Delivery-ID": "dd-42"}
        first = one.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT, headers=headers)
        again = two.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT, headers=headers)
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    cached = redis.Redis(port=server.port).get(f"aw:delivery:{len(company_id)}:{company_id}:dd-42")
    assert cached is not None


def test_readyz_names_redis_and_the_gate_fails_closed_while_it_is_down(
    tmp_path: Path, server: PrivateRedis
) -> None:
    with _client(tmp_path, server.url) as client:
        company_id, key, auth = _company(client)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "ok"},
            "degraded": [],
        }
        secret = client.post(f"/api/companies/{company_id}/hmac/enable", headers=auth).json()
        _, plain_key, _ = _company(client)

        server.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        body = down.json()
        assert body["checks"] == {"database": "ok", "redis": "unreachable"}
        assert body["degraded"] == ["rate limiting per process"]
        assert body["errors"] == [{"field": "redis", "message": "unreachable"}]
        assert "redis" in body["detail"]
        assert str(server.port) not in down.text

        # A delivery id cannot be checked against the other processes: 503, the sender retries.
        refused = client.post(
            f"/api/webhooks/alerts?api_key={plain_key}", json=ALERT, headers={"X-Delivery-ID": "x"}
        )
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert "Redis" in refused.json()["detail"]
        # Neither can a signature be checked for replay.
        raw = json.dumps(ALERT).encode()
        stamp = int(time.time())
        signed = client.post(
            f"/api/webhooks/alerts?api_key={key}",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Timestamp": str(stamp),
                "X-Signature": sign_hmac(secret["hmac_secret"], raw, stamp),
            },
        )
        assert signed.status_code == 503
        # Nothing else needs Redis: accepted, limited by this process's own bucket.
        accepted = client.post(f"/api/webhooks/alerts?api_key={plain_key}", json=ALERT)
        assert accepted.status_code == 202
        # Its second token of the fallback bucket (the refused delivery took the first).
        assert accepted.headers["x-ratelimit-remaining"] == "98"
        metrics = client.get("/metrics").text
        assert "aw_rate_limit_fallback_total 3" in metrics
        assert 'aw_webhook_rejected_total{reason="unavailable"} 2' in metrics
        listed = client.get("/api/alerts", headers=auth).json()["items"]
        assert len(listed) == 1  # the refused deliveries stored nothing

        restart(server)
        assert client.get("/readyz").status_code == 200
        again = client.post(
            f"/api/webhooks/alerts?api_key={plain_key}", json=ALERT, headers={"X-Delivery-ID": "x"}
        )
        assert again.status_code == 202
