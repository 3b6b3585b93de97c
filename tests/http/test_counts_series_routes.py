"""The dashboard's cheap reads: alert and incident counts, the KPI time series, and an
incident's executions, through real HTTP (tenant rules, bad input, agreement with the lists)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from alertwhisperer_core import Execution, ExecutionStatus

from ..support.api import Api
from ..support.world import T0, generic

ACME_TECH = "acme_tech"


def _get(api: Api, url: str, who: str = ACME_TECH) -> Any:
    response = api.client.get(url, headers=api.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def _error(api: Api, url: str, status: int, who: str = ACME_TECH) -> str:
    response = api.client.get(url, headers=api.auth(who))
    assert response.status_code == status, response.text
    field: str = response.json()["errors"][0]["field"] if status == 422 else ""
    return field


def _send(api: Api, **alert: Any) -> dict[str, Any]:
    response = api.client.post(
        f"/api/webhooks/alerts?api_key={api.acme.api_key}", json=generic(**alert)
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_alert_counts_agree_with_the_list_for_every_filter(api: Api) -> None:
    # acme already has one critical firing alert; globex has one as well.
    _send(api, asset="web-01", signature="cpu_high", severity="high")
    _send(api, asset="web-02", signature="cpu_high", severity="high", status="resolved")
    _send(api, asset="web-03", signature="disk_full", severity="low")
    for query in ("", "status=firing", "severity=high", "q=CPU_", "status=resolved"):
        counts = _get(api, f"/api/alerts/counts?{query}")
        listed = _get(api, f"/api/alerts?limit=500&{query}")["items"]
        assert counts["total"] == len(listed), query
        assert counts["by_severity"] == {
            s: sum(a["severity"] == s for a in listed)
            for s in ("critical", "high", "medium", "low")
        }
        assert counts["by_status"] == {
            s: sum(a["status"] == s for a in listed) for s in ("firing", "resolved")
        }
    firing = _get(api, "/api/alerts/counts?status=firing")
    assert firing["by_severity"] == {"critical": 1, "high": 1, "medium": 0, "low": 1}


def test_counts_go_past_a_list_page(api: Api) -> None:
    async def many() -> None:
        async with api.world.store() as uow:
            found = await uow.alerts.get(api.acme.alert_id)
            assert found is not None
            for n in range(620):
                await uow.alerts.add(msgspec.structs.replace(found[0], id=f"bulk-{n}"), None)
            await uow.commit()

    asyncio.run(many())
    assert _get(api, "/api/alerts/counts?severity=critical&status=firing")["total"] == 621
    assert _get(api, "/api/alerts?limit=500")["next_cursor"] is not None


def test_counts_hold_only_the_callers_tenant(api: Api) -> None:
    own = _get(api, f"/api/alerts/counts?company_id={api.acme.company_id}")
    assert _get(api, "/api/alerts/counts") == own
    assert _get(api, "/api/alerts/counts", "msp")["total"] == own["total"] + 1
    own_incidents = _get(api, f"/api/incidents/counts?company_id={api.acme.company_id}")
    assert _get(api, "/api/incidents/counts") == own_incidents
    assert _get(api, "/api/incidents/counts", "msp")["total"] == 2
    assert _error(api, f"/api/alerts/counts?company_id={api.globex.company_id}", 404) == ""
    assert _error(api, f"/api/incidents/counts?company_id={api.globex.company_id}", 404) == ""


def test_incident_counts_by_status_match_the_list(api: Api) -> None:
    second = _send(api, asset="web-01", signature="cpu_high", severity="high")["incident_ids"][0]
    third = _send(api, asset="web-02", signature="cpu_high", severity="medium")["incident_ids"][0]
    patch = api.client.patch(
        f"/api/incidents/{second}", headers=api.auth(ACME_TECH), json={"status": "in_progress"}
    )
    assert patch.status_code == 200
    resolve = api.client.patch(
        f"/api/incidents/{third}", headers=api.auth(ACME_TECH), json={"status": "resolved"}
    )
    assert resolve.status_code == 200
    counts = _get(api, "/api/incidents/counts")
    assert counts == {
        "total": 3,
        "by_severity": {"critical": 1, "high": 1, "medium": 1, "low": 0},
        "by_status": {"new": 1, "in_progress": 1, "resolved": 1},
    }
    assert _get(api, "/api/incidents/counts?status=in_progress")["total"] == 1
    assert _get(api, f"/api/incidents/counts?assigned_to={ACME_TECH}")["total"] == len(
        _get(api, f"/api/incidents?assigned_to={ACME_TECH}")["items"]
    )


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/alerts/counts?status=burning", "status"),
        ("/api/alerts/counts?severity=urgent", "severity"),
        ("/api/alerts/counts?since=2026-11-26T12:00:00", "since"),
        ("/api/alerts/counts?since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z", "until"),
        ("/api/incidents/counts?status=open", "status"),
        ("/api/incidents/counts?until=yesterday", "until"),
    ],
)
def test_bad_count_filters_are_422_naming_the_field(api: Api, url: str, field: str) -> None:
    assert _error(api, url, 422) == field


def _add_executions(api: Api, count: int) -> list[str]:
    ids = [f"ex-more-{n}" for n in range(count)]

    async def add() -> None:
        async with api.world.store() as uow:
            for n, execution_id in enumerate(ids, start=1):
                await uow.executions.add(
                    Execution(
                        id=execution_id,
                        company_id=api.acme.company_id,
                        incident_id=api.acme.incident_id,
                        runbook_id=api.acme.runbook_id,
                        status=ExecutionStatus.FAILED,
                        created_at=T0 + timedelta(minutes=n),
                        requested_by=ACME_TECH,
                    )
                )
            await uow.commit()

    asyncio.run(add())
    return ids


def test_incident_executions_page_newest_first(api: Api) -> None:
    more = _add_executions(api, 3)
    url = f"/api/incidents/{api.acme.incident_id}/executions"
    seen: list[str] = []
    next_url = f"{url}?limit=2"
    while True:
        page = _get(api, next_url)
        assert len(page["items"]) <= 2
        seen += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        next_url = f"{url}?limit=2&cursor={page['next_cursor']}"
    assert seen == [*reversed(more), api.acme.execution_id]
    first = _get(api, url)["items"][0]
    assert set(first) >= {"status", "executor", "output", "duration_seconds", "runbook_id"}


def test_incident_executions_follow_the_incidents_tenant_rules(api: Api) -> None:
    foreign = f"/api/incidents/{api.globex.incident_id}/executions"
    assert _error(api, foreign, 404) == ""
    assert _error(api, foreign, 404, "acme_admin") == ""
    assert _error(api, "/api/incidents/nope/executions", 404) == ""
    assert [e["id"] for e in _get(api, foreign, "msp")["items"]] == [api.globex.execution_id]
    own = f"/api/incidents/{api.acme.incident_id}/executions"
    assert _error(api, f"{own}?cursor=garbage", 422) == "cursor"
    assert _error(api, f"{own}?limit=0", 422) == "limit"


def _series(api: Api, query: str, who: str = ACME_TECH) -> Any:
    return _get(api, f"/api/kpis/series?{query}", who)


def test_kpi_series_buckets_add_up_to_the_period(api: Api) -> None:
    start = T0 - timedelta(hours=2)
    _send(api, asset="web-01", signature="cpu_high", severity="high", at=T0 - timedelta(hours=1))
    _send(api, asset="web-01", signature="cpu_high", severity="high", at=T0 - timedelta(minutes=50))
    _send(api, asset="web-09", signature="mem", severity="low", at=start + timedelta(minutes=1))
    since, until = start.isoformat(), (T0 + timedelta(hours=1)).isoformat()
    query = f"bucket=hour&since={since}&until={until}".replace("+", "%2B")
    series = _series(api, query)
    items = series["items"]
    assert [i["since"] for i in items] == [
        (start + timedelta(hours=n)).isoformat().replace("+00:00", "Z") for n in range(3)
    ]
    assert [i["alert_count"] for i in items] == [1, 2, 1]
    assert [i["incident_count"] for i in items] == [1, 1, 1]
    assert items[1]["noise_reduction"]["value"] == 50.0
    assert all(i["patch_compliance"]["value"] is None for i in items)
    total = series["total"]
    assert total == _get(api, f"/api/kpis?since={since}&until={until}".replace("+", "%2B"))
    assert total["alert_count"] == sum(i["alert_count"] for i in items) == 4
    assert total["incident_count"] == sum(i["incident_count"] for i in items) == 3


def test_kpi_series_defaults_to_the_last_24_hours_or_30_days(api: Api) -> None:
    hours = _series(api, "")
    assert hours["bucket"] == "hour"
    assert len(hours["items"]) == 24
    assert hours["until"].startswith("2026-11-26T12:00:00")
    # The default period runs to now inclusive, like /api/kpis: the alert stamped now counts.
    assert hours["items"][-1]["alert_count"] == 1
    assert hours["total"] == _get(api, f"/api/kpis?since={hours['since']}")
    days = _series(api, "bucket=day")
    assert len(days["items"]) == 30
    assert days["total"]["alert_count"] == 1


def test_kpi_series_is_tenant_scoped(api: Api) -> None:
    assert _series(api, "")["total"]["alert_count"] == 1
    assert _series(api, "", "msp")["total"]["alert_count"] == 2
    assert _error(api, f"/api/kpis/series?company_id={api.globex.company_id}", 404) == ""


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bucket=week", "bucket"),
        ("bucket=hour&since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since"),
        ("since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z", "until"),
        ("since=2026-11-26T00:00:00", "since"),
        ("since=2026-11-27T00:00:00Z", "until"),
    ],
)
def test_bad_series_periods_are_422_naming_the_field(api: Api, query: str, field: str) -> None:
    assert _error(api, f"/api/kpis/series?{query}", 422) == field
