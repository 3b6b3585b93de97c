"""The management routes' answers: shapes SPEC §11 promises, through real HTTP."""

from __future__ import annotations

import csv
import io
import json

from alertwhisperer_adapters.http._audit import csv_cell

from ..support.api import PASSWORD, Api

ALERT = {"asset_name": "web-01", "signature": "cpu_high", "severity": "high", "message": "CPU"}


def _company(api: Api, **body: object) -> dict[str, object]:
    response = api.client.post(
        "/api/companies", headers=api.auth("msp"), json={"name": "Initech", **body}
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_company_creation_answers_key_url_and_integrations_once(api: Api) -> None:
    created = _company(
        api,
        assets=[{"name": "srv-app-01", "type": "webserver"}],
        policy={"auto_approve_low_risk": False},
    )
    company = created["company"]
    assert isinstance(company, dict)
    key = created["api_key"]
    assert isinstance(key, str)
    assert created["webhook_url"] == f"http://testserver/api/webhooks/alerts?api_key={key}"
    integrations = created["integrations"]
    assert isinstance(integrations, dict)
    assert {"datadog", "zabbix", "alertmanager", "cloudwatch"} <= set(integrations)
    assert company["settings"]["policy"]["auto_approve_low_risk"] is False
    shown = api.client.get(f"/api/companies/{company['id']}", headers=api.auth("msp"))
    assert key not in shown.text
    accepted = api.client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
    assert accepted.status_code == 202


def test_duplicate_company_name_is_409(api: Api) -> None:
    _company(api)
    response = api.client.post("/api/companies", headers=api.auth("msp"), json={"name": "initech"})
    assert response.status_code == 409
    assert set(response.json()) == {"detail", "errors"}


def test_regenerated_key_replaces_the_old_one(api: Api) -> None:
    old = api.acme.api_key
    response = api.client.post(
        f"/api/companies/{api.acme.company_id}/api-key/regenerate", headers=api.auth("msp")
    )
    new = response.json()["api_key"]
    assert response.headers["cache-control"] == "no-store"
    assert api.client.post(f"/api/webhooks/alerts?api_key={old}", json=ALERT).status_code == 401
    assert api.client.post(f"/api/webhooks/alerts?api_key={new}", json=ALERT).status_code == 202


def test_user_creation_answers_the_user_without_password_or_hash(api: Api) -> None:
    response = api.client.post(
        "/api/users",
        headers=api.auth("acme_admin"),
        json={
            "email": "Jo@Example.test",
            "name": "Jo",
            "password": PASSWORD,
            "role": "technician",
            "company_ids": [api.acme.company_id],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "email": "jo@example.test",
        "name": "Jo",
        "role": "technician",
        "company_ids": [api.acme.company_id],
        "active": True,
    }
    assert PASSWORD not in response.text
    login = api.client.post(
        "/api/auth/login", json={"email": "jo@example.test", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_settings_put_takes_a_subset_and_answers_the_whole_settings(api: Api) -> None:
    url = f"/api/companies/{api.acme.company_id}/settings"
    response = api.client.put(
        url,
        headers=api.auth("acme_admin"),
        json={
            "correlation": {"window_minutes": 5},
            "policy": {"maintenance_windows": ["Sat 22:00-02:00"], "timezone": "Europe/Berlin"},
        },
    )
    assert response.status_code == 200
    settings = response.json()
    assert set(settings) == {"correlation", "rate_limit", "policy"}
    assert settings["correlation"]["window_minutes"] == 5
    assert settings["correlation"]["aggregation_key"] == "asset|signature"
    assert settings["policy"]["maintenance_windows"] == ["Sat 22:00-02:00"]
    assert api.client.get(url, headers=api.auth("acme_tech")).json() == settings


def test_settings_out_of_range_is_422_naming_the_field(api: Api) -> None:
    response = api.client.put(
        f"/api/companies/{api.acme.company_id}/settings",
        headers=api.auth("acme_admin"),
        json={"rate_limit": {"requests_per_minute": 1001}},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "rate_limit.requests_per_minute", "message": "must be between 1 and 1000"}
    ]


def test_assets_round_trip(api: Api) -> None:
    base = f"/api/companies/{api.acme.company_id}/assets"
    created = api.client.post(
        base,
        headers=api.auth("acme_admin"),
        json={
            "name": "srv-web-02",
            "type": "webserver",
            "os": "Ubuntu 22.04",
            "environment": "prod",
            "is_critical": True,
            "instance_id": "i-0abc",
            "tags": ["web"],
        },
    )
    assert created.status_code == 201
    asset = created.json()
    patched = api.client.patch(
        f"{base}/{asset['id']}", headers=api.auth("acme_admin"), json={"instance_id": None}
    )
    assert patched.json() == {**asset, "instance_id": None}
    assert (
        api.client.post(
            base, headers=api.auth("acme_admin"), json={"name": "srv-web-02"}
        ).status_code
        == 409
    )
    assert (
        api.client.delete(f"{base}/{asset['id']}", headers=api.auth("acme_admin")).status_code
        == 204
    )
    assert (
        api.client.delete(f"{base}/{asset['id']}", headers=api.auth("acme_admin")).status_code
        == 404
    )


def test_incident_shape_carries_priority_alerts_and_asset(api: Api) -> None:
    response = api.client.get(
        f"/api/incidents/{api.acme.incident_id}", headers=api.auth("acme_tech")
    )
    incident = response.json()
    assert incident["priority"]["score"] == sum(incident["priority"]["breakdown"].values())
    assert incident["priority"]["breakdown"]["critical_asset"] == 20
    assert incident["alert_ids"] == [api.acme.alert_id]
    assert incident["asset_registered"] is True
    assert incident["status"] == "new"
    for field in (
        "id",
        "company_id",
        "key",
        "asset_name",
        "signature",
        "severity",
        "resolution",
        "alert_count",
        "tool_sources",
        "first_event_at",
        "last_event_at",
        "assigned_to",
        "notes",
        "timeline",
        "merged_into",
        "in_maintenance",
    ):
        assert field in incident


def test_incident_patch_and_notes(api: Api) -> None:
    url = f"/api/incidents/{api.acme.incident_id}"
    headers = api.auth("acme_tech")
    assert api.client.patch(url, headers=headers, json={"status": "in_progress"}).status_code == 200
    resolved = api.client.patch(
        url, headers=headers, json={"status": "resolved", "assigned_to": "acme_admin"}
    )
    assert resolved.json()["resolution"] == "manual"
    assert resolved.json()["assigned_to"] == "acme_admin"
    reopened = api.client.patch(url, headers=headers, json={"status": "new"})
    assert reopened.status_code == 409
    note = api.client.post(f"{url}/notes", headers=headers, json={"text": "post-mortem done"})
    assert note.status_code == 201
    assert note.json()["notes"][-1]["text"] == "post-mortem done"
    actions = [
        e["action"]
        for e in api.client.get("/api/audit", headers=api.auth("acme_admin")).json()["items"]
    ]
    assert "incident_status_changed" in actions
    assert "incident_assigned" in actions


def test_lists_paginate_with_a_cursor(api: Api) -> None:
    for i in range(5):
        api.client.post(
            f"/api/webhooks/alerts?api_key={api.acme.api_key}",
            json={**ALERT, "asset_name": f"web-{i}"},
        )
    seen: list[str] = []
    url = "/api/alerts?limit=2"
    while True:
        page = api.client.get(url, headers=api.auth("acme_tech")).json()
        assert len(page["items"]) <= 2
        seen += [a["id"] for a in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/api/alerts?limit=2&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 6


def test_incident_list_sorts_by_priority_highest_first(api: Api) -> None:
    api.client.post(
        f"/api/webhooks/alerts?api_key={api.acme.api_key}", json={**ALERT, "severity": "low"}
    )
    items = api.client.get("/api/incidents", headers=api.auth("acme_tech")).json()["items"]
    scores = [i["priority"]["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert len(scores) == 2


def test_audit_exports_csv_with_formulas_neutralised(api: Api) -> None:
    api.client.patch(
        f"/api/users/{api.acme.tech2}",
        headers=api.auth("acme_admin"),
        json={"name": '=HYPERLINK("http://evil")'},
    )
    api.client.patch(
        f"/api/users/{api.acme.tech2}",
        headers=api.auth(api.acme.tech2),
        json={"name": "Back To Normal"},
    )
    response = api.client.get("/api/audit/export?format=csv", headers=api.auth("acme_admin"))
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="audit.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "timestamp", "user_id", "user_name", "action", "company_id", "details"]
    assert any(row[3] == '\'=HYPERLINK("http://evil")' for row in rows[1:])
    assert all(json.loads(row[6]) is not None for row in rows[1:])


def test_audit_exports_json_lines(api: Api) -> None:
    response = api.client.get("/api/audit/export?format=jsonl", headers=api.auth("msp"))
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines
    assert {"id", "timestamp", "user_id", "user_name", "action", "details", "company_id"} == set(
        lines[0]
    )


def test_audit_export_refuses_an_unknown_format(api: Api) -> None:
    response = api.client.get("/api/audit/export?format=xlsx", headers=api.auth("msp"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "format"


def test_csv_cell_prefixes_formula_starters_only() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@x", "plain", "")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "plain",
        "",
    ]


def test_kpis_answer_every_figure_with_its_band(api: Api) -> None:
    kpis = api.client.get("/api/kpis", headers=api.auth("acme_tech")).json()
    for name in (
        "noise_reduction",
        "self_healed",
        "mttr_minutes",
        "mttr_auto_minutes",
        "mttr_manual_minutes",
        "patch_compliance",
    ):
        assert set(kpis[name]) == {"value", "band", "target"}
    assert kpis["alert_count"] == 1
    assert kpis["incident_count"] == 1
