"""``/api/companies/{id}/aws-credentials``: set, show without secrets, clear, audit, refuse."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from moto import mock_aws

from alertwhisperer_adapters.aws import CompanyAwsClients, CompanyPatchSource
from alertwhisperer_adapters.executors import DryRunExecutor, Remediator
from alertwhisperer_core import AwsCredentials, InstancePatchState
from alertwhisperer_core.service import Services, company_aws_credentials

from ..support.api import AWS_CREDENTIALS, AWS_SECRETS, Api, Tenant, running_api

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDkVYQU1QTEVUT0tFTjEyMw=="
ROLE = "arn:aws:iam::123456789012:role/AlertWhispererRunbooks"
EXTERNAL = "acme-ext-9c1e"
ALL_SECRETS = (*AWS_SECRETS, KEY_ID, SECRET, TOKEN, EXTERNAL)


def _url(api: Api, company_id: str | None = None) -> str:
    return f"/api/companies/{company_id or api.acme.company_id}/aws-credentials"


def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    response = api.client.get(f"/api/audit?action={action}", headers=api.auth("msp"))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _no_secret_in(text: str) -> None:
    assert not [s for s in ALL_SECRETS if s in text], text


def _changed(api: Api) -> list[str]:
    changed: list[str] = api.app.on_aws_credentials_changed.calls  # type: ignore[attr-defined]
    return changed


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, company_id: str) -> None:
        self.calls.append(company_id)


@pytest.fixture
def api() -> Any:
    with running_api(on_aws_credentials_changed=_Recorder()) as running:
        yield running


def test_a_company_admin_sets_access_keys_and_sees_only_the_last_four(api: Api) -> None:
    body = {"region": "eu-west-1", "access_key_id": KEY_ID, "secret_access_key": SECRET}
    put = api.client.put(_url(api), headers=api.auth(api.acme.admin), json=body)
    assert put.status_code == 200, put.text
    assert put.headers["cache-control"] == "no-store"
    shown = put.json()
    assert shown == {
        "configured": True, "kind": "access_key", "region": "eu-west-1",
        "access_key_id_last4": "MPLE", "role_arn": None, "updated_at": shown["updated_at"],
    }  # fmt: skip
    got = api.client.get(_url(api), headers=api.auth(api.acme.admin))
    assert got.json() == shown
    _no_secret_in(put.text + got.text)
    assert _changed(api) == [api.acme.company_id]


def test_temporary_keys_need_and_keep_their_session_token(api: Api) -> None:
    temporary = "ASIA" + KEY_ID[4:]
    body = {"region": "eu-west-1", "access_key_id": temporary, "secret_access_key": SECRET}
    refused = api.client.put(_url(api), headers=api.auth(api.acme.admin), json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "session_token"
    body["session_token"] = TOKEN
    put = api.client.put(_url(api), headers=api.auth(api.acme.admin), json=body)
    assert put.status_code == 200, put.text
    _no_secret_in(put.text)
    stored = api.world.store.aws[api.acme.company_id]
    assert (stored.access_key_id, stored.session_token) == (temporary, TOKEN)


def test_an_msp_admin_sets_a_role_shown_without_its_external_id(api: Api) -> None:
    body = {"region": "us-east-2", "role_arn": ROLE, "external_id": EXTERNAL}
    put = api.client.put(_url(api), headers=api.auth("msp"), json=body)
    assert put.status_code == 200, put.text
    shown = put.json()
    assert (shown["kind"], shown["role_arn"], shown["access_key_id_last4"]) == ("role", ROLE, None)
    _no_secret_in(put.text)
    stored = api.world.store.aws[api.acme.company_id]
    assert (stored.role_arn, stored.external_id, stored.access_key_id) == (ROLE, EXTERNAL, None)


def test_setting_and_clearing_are_audited_without_secrets(api: Api) -> None:
    body = {"region": "eu-west-1", "access_key_id": KEY_ID, "secret_access_key": SECRET}
    api.client.put(_url(api), headers=api.auth(api.acme.admin), json=body)
    assert api.client.delete(_url(api), headers=api.auth(api.acme.admin)).status_code == 204
    (set_,) = _audit(api, "aws_credentials_set")
    (cleared,) = _audit(api, "aws_credentials_cleared")
    assert set_["company_id"] == cleared["company_id"] == api.acme.company_id
    assert set_["user_id"] == api.acme.admin
    assert set_["details"] == {
        "region": "eu-west-1", "kind": "access_key", "access_key_id_last4": "MPLE",
        "role_arn": None,
    }  # fmt: skip
    export = api.client.get("/api/audit/export?format=jsonl", headers=api.auth("msp"))
    assert "aws_credentials_set" in export.text
    _no_secret_in(export.text + json.dumps([set_, cleared]))


def test_clearing_falls_back_to_nothing_and_twice_is_harmless(api: Api) -> None:
    assert api.client.delete(_url(api), headers=api.auth("msp")).status_code == 204
    assert api.client.delete(_url(api), headers=api.auth("msp")).status_code == 204
    got = api.client.get(_url(api), headers=api.auth("msp"))
    assert got.json() == {
        "configured": False, "kind": None, "region": None, "access_key_id_last4": None,
        "role_arn": None, "updated_at": None,
    }  # fmt: skip
    assert len(_audit(api, "aws_credentials_cleared")) == 1  # the second delete changed nothing
    assert _changed(api) == [api.acme.company_id]


_KEYS = {"region": "eu-west-1", "access_key_id": KEY_ID, "secret_access_key": SECRET}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"access_key_id": KEY_ID, "secret_access_key": SECRET}, "region"),
        ({**_KEYS, "region": ""}, "region"),
        ({**_KEYS, "region": "Europe"}, "region"),
        ({**_KEYS, "region": "eu-west-1; rm -rf /"}, "region"),
        ({"region": "eu-west-1"}, "access_key_id"),
        ({**_KEYS, "access_key_id": "AKIA123"}, "access_key_id"),
        ({**_KEYS, "access_key_id": "AIDAIOSFODNN7EXAMPLE"}, "access_key_id"),
        ({"region": "eu-west-1", "access_key_id": KEY_ID}, "secret_access_key"),
        ({**_KEYS, "secret_access_key": "short"}, "secret_access_key"),
        ({**_KEYS, "secret_access_key": SECRET[:-1] + "!"}, "secret_access_key"),
        ({**_KEYS, "session_token": "not a token"}, "session_token"),
        ({**_KEYS, "external_id": EXTERNAL}, "external_id"),
        ({**_KEYS, "role_arn": ROLE}, "access_key_id"),
        ({"region": "eu-west-1", "role_arn": "arn:aws:iam::123:role/x"}, "role_arn"),
        ({"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:user/x"}, "role_arn"),
        ({"region": "eu-west-1", "role_arn": ROLE, "external_id": "x"}, "external_id"),
        ({"region": "eu-west-1", "role_arn": ROLE, "external_id": "a b"}, "external_id"),
        ({**_KEYS, "secret_acces_key": SECRET}, "secret_acces_key"),
        ({**_KEYS, "region": 1}, "region"),
    ],
)
def test_a_malformed_body_is_a_422_naming_the_field_and_stores_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = api.client.get(_url(api), headers=api.auth("msp")).json()
    response = api.client.put(_url(api), headers=api.auth("msp"), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    _no_secret_in(response.text)
    assert api.client.get(_url(api), headers=api.auth("msp")).json() == before
    assert _audit(api, "aws_credentials_set") == []
    assert _changed(api) == []


def test_broken_json_is_a_400(api: Api) -> None:
    response = api.client.put(
        _url(api), headers={**api.auth("msp"), "content-type": "application/json"}, content=b"{"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_technician_may_not_see_or_change_them(api: Api, method: str) -> None:
    response = api.client.request(
        method, _url(api), headers=api.auth(api.acme.tech), json=_KEYS if method == "PUT" else None
    )
    assert response.status_code == 403
    _no_secret_in(response.text)
    assert api.world.store.aws[api.acme.company_id].region == "eu-west-1"  # unchanged


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_companys_credentials_are_not_found(api: Api, method: str) -> None:
    url = _url(api, api.globex.company_id)
    response = api.client.request(
        method, url, headers=api.auth(api.acme.admin), json=_KEYS if method == "PUT" else None
    )
    assert response.status_code == 404
    assert "GlobexAlertWhisperer" not in response.text
    assert api.world.store.aws[api.globex.company_id].role_arn is not None  # unchanged


def test_an_unknown_company_is_not_found() -> None:
    with running_api() as api:
        response = api.client.put(_url(api, "co-nope"), headers=api.auth("msp"), json=_KEYS)
        assert response.status_code == 404
        assert "co-nope" not in api.world.store.aws


# --- end to end: each company's runs and syncs use its own credentials ------------------------


class _OneCall:
    """A patch source making one SSM call with the client it was given (moto implements no
    Patch Manager call), so the signature shows whose credentials were used."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        await asyncio.to_thread(self.client.describe_parameters)
        return []


@pytest.fixture
def aws_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, list[tuple[str, str]]]]:
    signed: list[tuple[str, str]] = []
    original = SigV4Auth.add_auth

    def add_auth(auth: SigV4Auth, request: Any) -> None:
        signed.append((auth._service_name, auth.credentials.access_key))
        original(auth, request)

    monkeypatch.setattr(SigV4Auth, "add_auth", add_auth)
    with mock_aws():
        holder: dict[str, Services] = {}

        async def load(company_id: str) -> AwsCredentials | None:
            return await company_aws_credentials(holder["services"], company_id)

        clients = CompanyAwsClients(load)
        options = {
            "remediator": Remediator(DryRunExecutor(), aws=clients),
            "compliance_source": CompanyPatchSource(clients, None, source=_OneCall),
            "on_aws_credentials_changed": clients.invalidate,
        }
        with running_api(**options) as api:
            holder["services"] = api.world.services
            yield api, signed


def _execute_low_risk_runbook(api: Api, tenant: Tenant) -> dict[str, Any]:
    msp = api.auth("msp")
    asset = f"/api/companies/{tenant.company_id}/assets/{tenant.asset_id}"
    assert api.client.patch(asset, headers=msp, json={"instance_id": "i-0123456789abcdef0"})
    runbook = api.client.post(
        "/api/runbooks",
        headers=msp,
        json={"name": f"Uptime {tenant.company_id}", "signature": "never_*", "risk": "low",
              "actions": ["uptime"], "company_id": tenant.company_id},
    )  # fmt: skip
    assert runbook.status_code == 201, runbook.text
    url = f"/api/incidents/{tenant.incident_id}/runbooks/{runbook.json()['id']}/execute"
    started = api.client.post(url, headers=api.auth(tenant.admin))
    assert started.status_code == 202, started.text
    _no_secret_in(started.text)
    execution_id = started.json()["execution"]["id"]
    finished = api.client.get(f"/api/executions/{execution_id}", headers=msp)
    _no_secret_in(finished.text)
    return dict(finished.json())


def test_each_companys_runs_are_signed_with_its_own_credentials(
    aws_api: tuple[Api, list[tuple[str, str]]],
) -> None:
    api, signed = aws_api
    acme = _execute_low_risk_runbook(api, api.acme)
    acme_keys = {key for service, key in signed if service == "ssm"}
    globex = _execute_low_risk_runbook(api, api.globex)
    globex_keys = {key for service, key in signed if service == "ssm"} - acme_keys
    assert (acme["executor"], acme["status"]) == ("ssm", "Success"), acme
    assert (globex["executor"], globex["status"]) == ("ssm", "Success"), globex
    assert acme_keys == {AWS_CREDENTIALS["co-acme"].access_key_id}
    (assumed,) = globex_keys  # the key STS issued for Globex's role
    assert assumed.startswith("ASIA")
    assert ("sts", assumed) not in signed  # the role was assumed with the server's key


def test_a_sync_uses_the_companys_credentials_and_a_change_applies_at_once(
    aws_api: tuple[Api, list[tuple[str, str]]],
) -> None:
    api, signed = aws_api
    sync = f"/api/companies/{api.acme.company_id}/compliance/sync"
    first = api.client.post(sync, headers=api.auth(api.acme.admin))
    assert first.status_code == 200, first.text
    assert {key for service, key in signed if service == "ssm"} == {KEY_ID_ACME}
    body = {"region": "eu-west-1", "access_key_id": KEY_ID, "secret_access_key": SECRET}
    assert api.client.put(_url(api), headers=api.auth(api.acme.admin), json=body).is_success
    signed.clear()
    assert api.client.post(sync, headers=api.auth(api.acme.admin)).status_code == 200
    assert {key for service, key in signed if service == "ssm"} == {KEY_ID}
    assert api.client.delete(_url(api), headers=api.auth(api.acme.admin)).status_code == 204
    gone = api.client.post(sync, headers=api.auth(api.acme.admin))
    assert gone.status_code == 503
    assert "AWS is not configured" in gone.json()["detail"]
    _no_secret_in(first.text + gone.text)


KEY_ID_ACME = AWS_CREDENTIALS["co-acme"].access_key_id
