"""Runbooks, YAML import/export, execution and approvals over HTTP (the RBAC walk is separate)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml

from ..support.api import Api

GUIDE_15 = b"""
Name: Restart Nginx
Description: Restart nginx service and verify health
Signature: service_down:nginx  # Trigger condition
Risk Level: low  # low, medium, high
Auto-Approve: true  # For low-risk only

Actions:
  - sudo systemctl restart nginx
  - curl -f http://localhost/healthz

Health Checks:
  type: http
  url: http://localhost/healthz
  status: 200
"""

GUIDE_4 = b"""
Runbook: Clear disk
Signature: disk_full
Risk: Medium (requires approval)
Actions:
  - journalctl --vacuum-size=200M
Health Check:
  - type: command
  - command: test $(df --output=pcent / | tail -1 | tr -dc 0-9) -lt 90
"""


def _runbook(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Clean old logs",
        "signature": "disk_full",
        "risk": "low",
        "actions": ["find /var/log -name '*.gz' -delete"],
        "health_check": {"kind": "command", "command": "true"},
    }
    body.update(kw)
    return body


def test_msp_admin_creates_shows_changes_lists_and_deletes_a_runbook(api: Api) -> None:
    msp = api.auth("msp")
    created = api.client.post("/api/runbooks", json=_runbook(), headers=msp)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["company_id"] is None
    changed = api.client.patch(f"/api/runbooks/{rid}", json={"risk": "medium"}, headers=msp)
    assert changed.json()["risk"] == "medium"
    listed = api.client.get("/api/runbooks", headers=api.auth(api.acme.tech)).json()["items"]
    assert rid in [r["id"] for r in listed]
    assert api.client.delete(f"/api/runbooks/{rid}", headers=msp).status_code == 204
    assert api.client.get(f"/api/runbooks/{rid}", headers=msp).status_code == 404
    actions = [e.action for e in api.world.store.audit]
    assert {"runbook_created", "runbook_updated", "runbook_deleted"} <= set(actions)


def test_an_invalid_runbook_is_refused_naming_the_field(api: Api) -> None:
    msp = api.auth("msp")
    cases = [
        (_runbook(timeout_seconds=0), "timeout_seconds"),
        (_runbook(signature="*"), "signature"),
        (_runbook(actions=[]), "actions"),
        (_runbook(health_check={"kind": "ping"}), "health_check.kind"),
        (_runbook(health_check={"kind": "http", "url": "ftp://x"}), "health_check.url"),
        (_runbook(risk="extreme"), "risk"),
        (_runbook(surprise=1), "surprise"),
    ]
    for body, field in cases:
        response = api.client.post("/api/runbooks", json=body, headers=msp)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field
    assert api.client.post("/api/runbooks", json=_runbook(company_id="co-nope"),
                           headers=msp).status_code == 404  # fmt: skip


def test_yaml_import_reads_both_spellings_of_the_guide(api: Api) -> None:
    response = api.client.post(
        "/api/runbooks/import", content=GUIDE_15 + b"---\n" + GUIDE_4, headers=api.auth("msp")
    )
    assert response.status_code == 201, response.text
    nginx, disk = response.json()["items"]
    assert (nginx["name"], nginx["risk"], nginx["signature"]) == (
        "Restart Nginx", "low", "service_down:nginx")  # fmt: skip
    assert nginx["health_check"] == {"kind": "http", "url": "http://localhost/healthz",
                                     "expected_status": 200, "command": None}  # fmt: skip
    assert (disk["name"], disk["risk"], disk["health_check"]["kind"]) == (
        "Clear disk", "medium", "command")  # fmt: skip


def test_yaml_export_reads_back_to_the_same_runbooks(api: Api) -> None:
    msp = api.auth("msp")
    api.client.post("/api/runbooks/import", content=GUIDE_15 + b"---\n" + GUIDE_4, headers=msp)
    exported = api.client.get("/api/runbooks/export", headers=msp)
    assert exported.headers["content-type"].startswith("application/yaml")
    docs = list(yaml.safe_load_all(exported.text))
    assert {d["Name"] for d in docs} >= {"Restart Nginx", "Clear disk"}
    before = api.client.get("/api/runbooks", headers=msp).json()["items"]
    for item in before:
        api.client.delete(f"/api/runbooks/{item['id']}", headers=msp)
    again = api.client.post("/api/runbooks/import", content=exported.content, headers=msp)
    strip = lambda items: sorted(({k: v for k, v in r.items() if k != "id"} for r in items),  # noqa: E731
                                 key=lambda r: r["name"])  # fmt: skip
    assert strip(again.json()["items"]) == strip(before)


def test_bad_yaml_is_400_and_bad_fields_are_422_and_nothing_is_created(api: Api) -> None:
    msp = api.auth("msp")
    count = len(api.world.store.runbooks)
    broken = api.client.post("/api/runbooks/import", content=b"Name: [unclosed", headers=msp)
    assert broken.status_code == 400
    typo = api.client.post("/api/runbooks/import", content=GUIDE_15.replace(b"Health Checks",
                           b"Helth Checks"), headers=msp)  # fmt: skip
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["field"] == "runbooks[0].Helth Checks"
    second_bad = api.client.post(
        "/api/runbooks/import", content=GUIDE_15 + b"---\nName: x\nSignature: '*'\n"
        b"Risk Level: low\nActions: [x]\n", headers=msp)  # fmt: skip
    assert second_bad.status_code == 422
    assert second_bad.json()["errors"][0]["field"].startswith("runbooks[1]")
    tag = api.client.post("/api/runbooks/import", content=b"!!python/object:os.system {}",
                          headers=msp)  # fmt: skip
    assert tag.status_code == 400
    assert len(api.world.store.runbooks) == count


def test_a_low_risk_execution_runs_after_the_response(api: Api) -> None:
    msp = api.auth("msp")
    rid = api.client.post("/api/runbooks", json=_runbook(), headers=msp).json()["id"]
    tech = api.auth(api.acme.tech)
    url = f"/api/incidents/{api.acme.incident_id}/runbooks/{rid}/execute"
    response = api.client.post(url, headers=tech)
    assert response.status_code == 202
    body = response.json()
    assert body["approval"] is None
    assert body["execution"]["status"] == "Pending"
    shown = api.client.get(f"/api/executions/{body['execution']['id']}", headers=tech).json()
    # The app's default remediator is a dry run: it succeeds, echoes, and heals nothing.
    assert shown["status"] == "Success"
    assert shown["executor"] == "dry_run"
    assert "dry run" in shown["output"]
    incident = api.client.get(f"/api/incidents/{api.acme.incident_id}", headers=tech).json()
    assert incident["status"] != "resolved"


def test_a_medium_risk_execution_needs_an_approval_and_then_runs(api: Api) -> None:
    tech, admin = api.auth(api.acme.tech), api.auth(api.acme.admin)
    url = f"/api/incidents/{api.acme.incident_id}/runbooks/{api.acme.runbook_id}/execute"
    first = api.client.post(url, headers=tech).json()
    assert first["execution"] is None
    assert first["approval"]["id"] == api.acme.approval_id
    ok = api.client.post(f"/api/approvals/{api.acme.approval_id}/approve",
                         json={"notes": "during lunch"}, headers=admin)  # fmt: skip
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["notes"]) == ("approved", "during lunch")
    second = api.client.post(url, headers=tech).json()
    assert second["execution"]["approval_id"] == api.acme.approval_id


def test_approval_decisions_refuse_with_409_403_and_change_nothing(api: Api) -> None:
    approve = f"/api/approvals/{api.acme.approval_id}/approve"
    reject = f"/api/approvals/{api.acme.approval_id}/reject"
    assert api.client.post(approve, headers=api.auth(api.acme.tech)).status_code == 403
    assert api.client.post(reject, headers=api.auth("msp")).status_code == 200
    again = api.client.post(approve, headers=api.auth(api.acme.admin))
    assert again.status_code == 409
    assert api.world.store.approvals[api.acme.approval_id].status == "rejected"
    assert api.client.post("/api/approvals/nope/approve",
                           headers=api.auth("msp")).status_code == 404  # fmt: skip
    bad = api.client.post(approve, content=b"{", headers=api.auth("msp"))
    assert bad.status_code == 400


def test_an_expired_request_is_409_and_listed_as_pending_until_swept(api: Api) -> None:
    api.world.clock.advance(timedelta(hours=1, seconds=1))
    response = api.client.post(f"/api/approvals/{api.acme.approval_id}/approve",
                               headers=api.auth("msp"))  # fmt: skip
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


def test_a_company_admin_may_not_approve_high_risk(api: Api) -> None:
    msp = api.auth("msp")
    rid = api.client.post("/api/runbooks", json=_runbook(risk="high"), headers=msp).json()["id"]
    url = f"/api/incidents/{api.acme.incident_id}/runbooks/{rid}/execute"
    approval = api.client.post(url, headers=api.auth(api.acme.tech)).json()["approval"]
    response = api.client.post(f"/api/approvals/{approval['id']}/approve",
                               headers=api.auth(api.acme.admin))  # fmt: skip
    assert response.status_code == 403
    assert api.client.post(f"/api/approvals/{approval['id']}/approve",
                           headers=msp).status_code == 200  # fmt: skip


def test_approvals_filter_by_status(api: Api) -> None:
    tech = api.auth(api.acme.tech)
    pending = api.client.get("/api/approvals?status=pending", headers=tech).json()["items"]
    assert [a["id"] for a in pending] == [api.acme.approval_id]
    assert api.client.get("/api/approvals?status=approved", headers=tech).json()["items"] == []
    assert api.client.get("/api/approvals?status=maybe", headers=tech).status_code == 422
