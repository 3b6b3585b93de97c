"""A real Prometheus Alertmanager sends to the real server: incidents open, then resolve."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.alertmanager import alertmanager_binary, running_alertmanager
from ..support.servers import running_server

pytestmark = pytest.mark.slow

PASSWORD = "end to end admin password"


def _alert(
    instance: str,
    severity: str,
    *,
    starts: datetime,
    ends: datetime | None = None,
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": "DiskFull",
            "instance": f"{instance}:9100",
            "job": "node",
            "severity": severity,
        },
        "annotations": {"summary": f"Disk almost full on {instance}"},
        "startsAt": starts.isoformat(),
        "generatorURL": "http://prometheus.example/graph",
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return alert


def _until(check: Callable[[], Any], timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"condition not met within {timeout}s")


def test_alertmanager_groups_open_incidents_and_resolutions_close_them(tmp_path: Path) -> None:
    alertmanager_binary()  # skip early (or fail in CI) when it cannot be had
    env = {
        "AW_DATABASE_URL": "memory://",
        "AW_ADMIN_EMAIL": "admin@example.test",
        "AW_ADMIN_PASSWORD": PASSWORD,
    }
    with running_server(tmp_path, env) as server, server.client() as client:
        token = client.post(
            "/api/auth/login", json={"email": "admin@example.test", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = client.post(
            "/api/companies",
            headers=headers,
            json={
                "name": "Acme",
                "assets": [{"name": "srv-db-01", "is_critical": True}],
            },
        ).json()
        company_id = created["company"]["id"]

        def incidents() -> list[dict[str, Any]]:
            response = client.get(f"/api/incidents?company_id={company_id}", headers=headers)
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        started = datetime.now(UTC) - timedelta(seconds=5)
        with running_alertmanager(
            tmp_path, created["integrations"]["alertmanager"]["webhook_url"]
        ) as alertmanager:
            alertmanager.post_alerts(
                [
                    _alert("srv-db-01", "critical", starts=started),
                    _alert("srv-web-01", "warning", starts=started),
                ]
            )
            opened = _until(lambda: len(incidents()) == 2 and incidents())
            by_asset = {i["asset_name"]: i for i in opened}
            assert set(by_asset) == {"srv-db-01", "srv-web-01"}
            db = by_asset["srv-db-01"]
            assert (db["signature"], db["severity"], db["status"]) == (
                "DiskFull",
                "critical",
                "new",
            )
            assert db["tool_sources"] == ["Alertmanager"]
            assert db["priority"]["breakdown"]["critical_asset"] == 20
            assert by_asset["srv-web-01"]["severity"] == "medium"
            # Highest priority first.
            assert opened[0]["asset_name"] == "srv-db-01"

            ended = datetime.now(UTC) - timedelta(seconds=1)
            alertmanager.post_alerts(
                [
                    _alert("srv-db-01", "critical", starts=started, ends=ended),
                    _alert("srv-web-01", "warning", starts=started, ends=ended),
                ]
            )
            resolved = _until(
                lambda: all(i["status"] == "resolved" for i in incidents()) and incidents()
            )
            assert {i["resolution"] for i in resolved} == {"source_recovered"}
            assert len(resolved) == 2

        alerts = client.get(
            f"/api/alerts?company_id={company_id}&limit=500", headers=headers
        ).json()["items"]
        assert {a["status"] for a in alerts} == {"firing", "resolved"}
        assert {a["source"] for a in alerts} == {"alertmanager"}
        metrics = httpx.get(f"{server.base_url}/metrics").text
        assert 'aw_alerts_ingested_total{source="alertmanager"}' in metrics
