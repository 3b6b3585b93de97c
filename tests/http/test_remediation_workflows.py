"""The guide's workflows 1 and 3 end to end over HTTP, with the SSM executor on moto."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from moto import mock_aws

from alertwhisperer_adapters.executors import Remediator, SsmExecutor
from alertwhisperer_core import Asset
from alertwhisperer_core.service import RemediationRequest, Services

from ..support.api import Api, running_api
from ..support.world import generic

UUID = re.compile(r"^[0-9a-f-]{36}$")
INSTANCES = {"db-01": "i-0000000000000001", "db-02": "i-0000000000000002",
             "db-03": "i-0000000000000003"}  # fmt: skip


@pytest.fixture
def ssm_api() -> Iterator[Api]:
    with mock_aws():
        client = boto3.client("ssm", region_name="eu-west-1")
        remediator = Remediator(SsmExecutor(client))
        holder: dict[str, Services] = {}

        async def hook(requests: Sequence[RemediationRequest]) -> None:
            await remediator.auto(holder["services"], requests)

        with running_api(on_remediations=hook, remediator=remediator) as api:
            holder["services"] = api.world.services
            store = api.world.store
            for name, instance in INSTANCES.items():
                asset = Asset(id=f"asset-{name}", company_id="co-acme", name=name,
                              instance_id=instance, is_critical=True)  # fmt: skip
                store.assets[asset.id] = asset
                store.asset_by_name[("co-acme", name)] = asset.id
            yield api


def _post(api: Api, payload: dict[str, Any]) -> Any:
    response = api.client.post(
        "/api/webhooks/alerts", json=payload, headers={"X-API-Key": api.acme.api_key}
    )
    assert response.status_code == 202, response.text
    return response.json()


def _incident(api: Api, incident_id: str, who: str = "msp") -> dict[str, Any]:
    return dict(api.client.get(f"/api/incidents/{incident_id}", headers=api.auth(who)).json())


def test_workflow_1_alert_storm_with_a_self_healed_incident(ssm_api: Api) -> None:
    api = ssm_api
    msp = api.auth("msp")
    runbook = {
        "name": "Clean old logs",
        "signature": "disk_full",
        "risk": "low",
        "actions": ["find /var/log -name '*.gz' -mtime +7 -delete"],
        "health_check": {"kind": "command", "command": "test $(df --output=pcent / | tail -1 "
                         "| tr -dc 0-9) -lt 90"},
    }  # fmt: skip
    assert api.client.post("/api/runbooks", json=runbook, headers=msp).status_code == 201
    # One Alertmanager delivery of 100 alerts: the storm arrives before anything heals.
    at = api.world.clock.now().isoformat().replace("+00:00", "Z")
    groups = [
        ("db-01", "connection_refused", "critical", 80),
        ("db-02", "replication_lag", "high", 15),
        ("db-03", "disk_full", "critical", 5),
    ]
    storm = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "startsAt": at, "endsAt": "0001-01-01T00:00:00Z",
             "fingerprint": f"{asset}-{i}",
             "labels": {"alertname": name, "instance": f"{asset}:9100", "severity": severity}}
            for asset, name, severity, count in groups
            for i in range(count)
        ],
    }  # fmt: skip
    body = _post(api, storm)
    assert len(body["alert_ids"]) == 100
    by_asset = {i.asset_name: i.id for i in api.world.store.incidents.values()}
    incident_ids = {asset: by_asset[asset] for asset in INSTANCES}
    assert len(set(incident_ids.values())) == 3

    healed = _incident(api, incident_ids["db-03"])
    assert (healed["status"], healed["resolution"]) == ("resolved", "self_healed")
    executions = [e for e in api.world.store.executions.values() if e.executor == "ssm"]
    assert len(executions) == 1
    execution = api.client.get(f"/api/executions/{executions[0].id}", headers=msp).json()
    assert execution["status"] == "Success"
    assert execution["executor"] == "ssm"
    assert UUID.match(execution["command_id"])
    assert execution["health_check_passed"] is True
    for asset in ("db-01", "db-02"):
        incident = _incident(api, incident_ids[asset])
        assert incident["status"] == "new"
        assert incident["assigned_to"] in (api.acme.tech, api.acme.tech2)
    audit = api.client.get("/api/audit?action=runbook_executed", headers=msp).json()["items"]
    assert audit[0]["details"]["result"] == "success"
    assert audit[0]["details"]["runbook"] == "Clean old logs"
    assert audit[0]["user_name"] == "system"
    ssm = boto3.client("ssm", region_name="eu-west-1")
    sent = ssm.list_commands(CommandId=execution["command_id"])["Commands"][0]
    assert sent["InstanceIds"] == [INSTANCES["db-03"]]


def test_workflow_3_investigate_request_approval_approve_execute_resolve(ssm_api: Api) -> None:
    api = ssm_api
    msp, admin = api.auth("msp"), api.auth(api.acme.admin)
    runbook = {
        "name": "Restart Database",
        "signature": "database_down",
        "risk": "medium",
        "actions": ["sudo systemctl restart postgresql"],
        "health_check": {"kind": "command", "command": "pg_isready"},
        "company_id": "co-acme",
    }
    runbook_id = api.client.post("/api/runbooks", json=runbook, headers=msp).json()["id"]
    for tool in ("Datadog", "Zabbix"):
        body = _post(api, generic("db-01", "database_down", tool=tool))
    incident_id = body["incident_ids"][0]

    # Steps 1-3: the incident is there, assigned, with both tools; a request already waits.
    incident = _incident(api, incident_id)
    tech_id = incident["assigned_to"]
    tech = api.auth(tech_id)
    assert sorted(_incident(api, incident_id, tech_id)["tool_sources"]) == ["Datadog", "Zabbix"]
    # Step 4: the technician asks to run it; medium risk needs an admin first.
    url = f"/api/incidents/{incident_id}/runbooks/{runbook_id}/execute"
    asked = api.client.post(url, headers=tech)
    assert asked.status_code == 202
    approval = asked.json()["approval"]
    assert approval["status"] == "pending"
    pending = api.client.get("/api/approvals?status=pending", headers=admin).json()["items"]
    assert approval["id"] in [a["id"] for a in pending]
    decided = api.client.post(f"/api/approvals/{approval['id']}/approve",
                              json={"notes": "go ahead"}, headers=admin)  # fmt: skip
    assert decided.status_code == 200
    run = api.client.post(url, headers=tech)
    assert run.status_code == 202
    execution_id = run.json()["execution"]["id"]
    # Step 5: the SSM execution's status, command id and duration.
    execution = api.client.get(f"/api/executions/{execution_id}", headers=tech).json()
    assert execution["status"] == "Success"
    assert UUID.match(execution["command_id"])
    assert execution["duration_seconds"] is not None
    assert execution["approval_id"] == approval["id"]
    # Step 6: resolved as self-healed; the approval finished; all of it audited.
    assert _incident(api, incident_id, tech_id)["resolution"] == "self_healed"
    assert api.world.store.approvals[approval["id"]].status == "succeeded"
    actions = [e.action for e in api.world.store.audit]
    for action in ("approval_requested", "approval_granted", "runbook_executed"):
        assert action in actions
    executed = [e for e in api.world.store.audit if e.action == "runbook_executed"][-1]
    assert executed.user_id == tech_id
    # A second decision on the finished request is refused.
    again = api.client.post(f"/api/approvals/{approval['id']}/reject", headers=msp)
    assert again.status_code == 409
