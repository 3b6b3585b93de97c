"""Patch compliance over HTTP: sync, read back, the KPI, and a server without AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3

from alertwhisperer_adapters.aws import SsmPatchSource
from alertwhisperer_adapters.bootstrap import ServerConfig
from alertwhisperer_core import InstancePatchState

from ..support.api import Api, running_api

SCANNED = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)


class Fleet:
    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        return [
            InstancePatchState("i-web", installed=12, missing=2, critical_missing=1,
                               security_missing=2, last_operation_at=SCANNED),
            InstancePatchState("i-db", installed=40),
            InstancePatchState("i-globex", missing=5),
        ]  # fmt: skip


def _add_instances(api: Api) -> None:
    for name, instance, environment in (("web", "i-web", "production"), ("db", "i-db", "")):
        response = api.client.post(
            f"/api/companies/{api.acme.company_id}/assets",
            headers=api.auth("msp"),
            json={"name": name, "instance_id": instance, "environment": environment},
        )
        assert response.status_code == 201, response.text


def test_sync_answers_the_figures_and_get_reads_them_back() -> None:
    with running_api(compliance_source=Fleet()) as api:
        _add_instances(api)
        url = f"/api/companies/{api.acme.company_id}/compliance"
        synced = api.client.post(f"{url}/sync", headers=api.auth(api.acme.admin))
        assert synced.status_code == 200, synced.text
        body = synced.json()
        assert {k: body[k] for k in ("total", "compliant", "noncompliant", "percent")} == {
            "total": 2, "compliant": 1, "noncompliant": 1, "percent": 50.0,
        }  # fmt: skip
        assert (body["critical_missing"], body["security_missing"]) == (1, 2)
        assert body["last_scan_at"] == "2026-11-25T22:00:00Z"
        assert body["synced_at"] is not None
        assert body["environments"] == [
            {"environment": "production", "total": 1, "compliant": 0, "percent": 0.0},
            {"environment": "unknown", "total": 1, "compliant": 1, "percent": 100.0},
        ]
        assert [(i["instance_id"], i["compliant"]) for i in body["instances"]] == [
            ("i-db", True),
            ("i-web", False),
        ]
        cached = api.client.get(url, headers=api.auth(api.acme.tech))
        assert cached.status_code == 200
        assert cached.json() == body


def test_the_kpi_route_shows_patch_compliance_after_a_sync() -> None:
    with running_api(compliance_source=Fleet()) as api:
        _add_instances(api)
        kpis = f"/api/kpis?company_id={api.acme.company_id}"
        before = api.client.get(kpis, headers=api.auth("msp")).json()["patch_compliance"]
        assert before["value"] is None
        api.client.post(
            f"/api/companies/{api.acme.company_id}/compliance/sync", headers=api.auth("msp")
        )
        after = api.client.get(kpis, headers=api.auth("msp")).json()["patch_compliance"]
        assert after == {"value": 50.0, "band": "Needs Improvement", "target": "95%+"}


def test_without_aws_sync_answers_503_saying_aws_is_not_configured() -> None:
    with running_api() as api:
        url = f"/api/companies/{api.acme.company_id}/compliance"
        response = api.client.post(f"{url}/sync", headers=api.auth("msp"))
        assert response.status_code == 503
        assert response.json()["detail"].startswith("AWS is not configured")
        assert api.client.get(url, headers=api.auth("msp")).json()["synced_at"] is None


def test_without_aws_another_tenant_still_gets_404() -> None:
    with running_api() as api:
        response = api.client.post(
            f"/api/companies/{api.acme.company_id}/compliance/sync",
            headers=api.auth(api.globex.admin),
        )
        assert response.status_code == 404


def test_a_server_with_an_aws_region_syncs_from_ssm(tmp_path: Path) -> None:
    config = ServerConfig.from_env(
        {"AW_AWS_REGION": "eu-west-1", "AW_SECRET_KEY": "k" * 32}, var_dir=tmp_path
    )
    client = boto3.client(
        "ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert isinstance(config.compliance_source(ssm_client=client), SsmPatchSource)


def test_a_server_without_an_aws_region_has_no_compliance_source(tmp_path: Path) -> None:
    config = ServerConfig.from_env({"AW_SECRET_KEY": "k" * 32}, var_dir=tmp_path)
    assert config.compliance_source() is None
