"""An HTTP-level world: the in-memory core behind the real Starlette app, two tenants, users of
every role with tokens, and the ids a test needs to address their objects."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from starlette.testclient import TestClient

from alertwhisperer_adapters.http import AppServices, create_app
from alertwhisperer_core import (
    Asset,
    AwsCredentials,
    Execution,
    ExecutionStatus,
    Risk,
    Role,
    Runbook,
    User,
    request_approval,
)
from alertwhisperer_core.ports import AuthToken
from alertwhisperer_core.service import InlinePasswordHasher, RemediationRequest, hash_token

from .world import World, generic, make_world

PASSWORD = "correct horse battery staple"
SECRET_KEY = b"test-secret-key-that-is-long-enough"
PUBLIC_URL = "http://testserver"
COMPANIES = ("co-acme", "co-globex")
ROLES = ("msp", "admin", "tech")

_password_hash: list[str] = []


def password_hash() -> str:
    """One scrypt hash of :data:`PASSWORD`, computed once per test session (it is slow)."""
    if not _password_hash:
        hasher = InlinePasswordHasher(make_world().ids)
        _password_hash.append(asyncio.run(hasher.hash(PASSWORD)))
    return _password_hash[0]


@attrs.define
class Tenant:
    """One company and the ids of its objects."""

    company_id: str
    api_key: str
    asset_id: str
    asset_name: str
    incident_id: str
    alert_id: str
    admin: str
    tech: str
    tech2: str
    runbook_id: str = ""
    approval_id: str = ""
    execution_id: str = ""

    def markers(self) -> list[str]:
        """JSON-quoted strings that appear only in this tenant's data."""
        return [
            f'"{v}"'
            for v in (
                self.company_id,
                self.asset_id,
                self.asset_name,
                self.incident_id,
                self.alert_id,
                f"{self.admin}@example.test",
                f"{self.tech}@example.test",
                f"{self.tech2}@example.test",
                self.tech2,
                self.runbook_id,
                self.approval_id,
                self.execution_id,
            )
        ]


@attrs.define
class Api:
    world: World
    app: AppServices
    client: TestClient
    tenants: dict[str, Tenant]
    remediations: list[Sequence[RemediationRequest]]

    def token(self, who: str) -> str:
        return f"tok-{who}"

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}

    @property
    def acme(self) -> Tenant:
        return self.tenants["co-acme"]

    @property
    def globex(self) -> Tenant:
        return self.tenants["co-globex"]

    def user_for(self, role: str, company_id: str = "co-acme") -> str:
        """The user id of ``role`` ("msp", "admin", "tech") acting from ``company_id``."""
        if role == "msp":
            return "msp"
        tenant = self.tenants[company_id]
        return tenant.admin if role == "admin" else tenant.tech


async def _populate(world: World, hashed: str) -> dict[str, Tenant]:
    users = [
        User(
            id="msp",
            email="msp@example.test",
            name="Msp Admin",
            role=Role.MSP_ADMIN,
            password_hash=hashed,
        )
    ]
    assets: dict[str, Asset] = {}
    names: dict[str, dict[str, str]] = {}
    for company_id in COMPANIES:
        short = company_id.removeprefix("co-")
        company = await world.add_company(company_id)
        assets[company_id] = Asset(
            id=f"asset-{short}", company_id=company.id, name=f"{short}-db-01", is_critical=True
        )
        names[company_id] = {role: f"{short}_{role}" for role in ("admin", "tech", "tech2")}
        for role, user_id in names[company_id].items():
            users.append(
                User(
                    id=user_id,
                    email=f"{user_id}@example.test",
                    name=user_id,
                    role=Role.COMPANY_ADMIN if role == "admin" else Role.TECHNICIAN,
                    company_ids=frozenset({company_id}),
                    password_hash=hashed,
                )
            )
    now = world.clock.now()
    async with world.store() as uow:
        for asset in assets.values():
            await uow.assets.add(asset)
        for user in users:
            await uow.users.add(user)
            # Tokens are issued straight into the store: logging in is tested on its own, and
            # a scrypt check per user per test would make the route walk slow.
            await uow.tokens.add(
                AuthToken(hash_token(f"tok-{user.id}"), user.id, now, now + timedelta(hours=12))
            )
        await uow.commit()
    tenants: dict[str, Tenant] = {}
    for company_id in COMPANIES:
        # With technicians in place the incident is assigned, which writes an audit entry.
        outcome = await world.post(generic(asset=assets[company_id].name, at=now), company_id)
        tenants[company_id] = Tenant(
            company_id=company_id,
            api_key=world.api_keys[company_id],
            asset_id=assets[company_id].id,
            asset_name=assets[company_id].name,
            incident_id=str(outcome.body["incident_ids"][0]),
            alert_id=str(outcome.body["alert_ids"][0]),
            admin=names[company_id]["admin"],
            tech=names[company_id]["tech"],
            tech2=names[company_id]["tech2"],
        )
    await _remediation_records(world, tenants)
    async with world.store() as uow:
        for company_id, credentials in AWS_CREDENTIALS.items():
            await uow.companies.set_aws_credentials(company_id, credentials)
        await uow.commit()
    return tenants


# Each tenant's own AWS credentials: no answer of any route may contain one of AWS_SECRETS.
AWS_CREDENTIALS = {
    "co-acme": AwsCredentials(
        region="eu-west-1",
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
        access_key_id="AKIAACMEACMEACME7Q2Z",
        secret_access_key="acmeSecretAccessKey000000000000000000/+=",
    ),
    "co-globex": AwsCredentials(
        region="us-east-2",
        updated_at=datetime(2026, 11, 2, tzinfo=UTC),
        role_arn="arn:aws:iam::210987654321:role/GlobexAlertWhisperer",
        external_id="globex-external-id-4f1d",
    ),
}
AWS_SECRETS = (
    "AKIAACMEACMEACME7Q2Z",  # the whole key id: answers show its last four characters only
    "acmeSecretAccessKey000000000000000000/+=",
    "globex-external-id-4f1d",
)


async def _remediation_records(world: World, tenants: dict[str, Tenant]) -> None:
    """Per tenant: a company runbook (matching nothing), a pending medium-risk approval request
    by the system, and a finished execution, so every remediation route has objects to address."""
    now = world.clock.now()
    async with world.store() as uow:
        for tenant in tenants.values():
            short = tenant.company_id.removeprefix("co-")
            tenant.runbook_id = f"rb-{short}"
            tenant.approval_id = f"ap-{short}"
            tenant.execution_id = f"ex-{short}"
            await uow.runbooks.add(
                Runbook(id=tenant.runbook_id, name=f"{short} restart", signature=f"{short}_never",
                        risk=Risk.MEDIUM, actions=("true",), company_id=tenant.company_id)
            )  # fmt: skip
            await uow.approvals.add(
                request_approval(id=tenant.approval_id, company_id=tenant.company_id,
                                 incident_id=tenant.incident_id, runbook_id=tenant.runbook_id,
                                 risk=Risk.MEDIUM, requested_by="system", now=now)
            )  # fmt: skip
            await uow.executions.add(
                Execution(id=tenant.execution_id, company_id=tenant.company_id,
                          incident_id=tenant.incident_id, runbook_id=tenant.runbook_id,
                          status=ExecutionStatus.SUCCESS, created_at=now, requested_by="system",
                          executor="dry_run", started_at=now, finished_at=now)
            )  # fmt: skip
        await uow.commit()


def build_world(
    *, public_url: str = PUBLIC_URL, **app_options: Any
) -> tuple[World, dict[str, Tenant], AppServices, list[Sequence[RemediationRequest]]]:
    """A fresh two-tenant world and the app services over it (not started)."""
    world = make_world()
    tenants = asyncio.run(_populate(world, password_hash()))
    remediations: list[Sequence[RemediationRequest]] = []

    async def record(requests: Sequence[RemediationRequest]) -> None:
        remediations.append(requests)

    options: dict[str, Any] = {"on_remediations": record, **app_options}
    app = AppServices(
        services=world.services,
        hasher=InlinePasswordHasher(world.ids),
        secret_key=SECRET_KEY,
        public_url=public_url,
        **options,
    )
    return world, tenants, app, remediations


def restore_token(world: World, user_id: str) -> None:
    """Put ``tok-<user_id>`` back (after a test logged it out)."""
    now = world.clock.now()
    token = AuthToken(hash_token(f"tok-{user_id}"), user_id, now, now + timedelta(hours=12))
    world.store.tokens[token.token_hash] = token


@contextmanager
def running_api(
    *, public_url: str = PUBLIC_URL, raise_server_exceptions: bool = True, **app_options: Any
) -> Iterator[Api]:
    """Start the app over a fresh two-tenant world; the client runs its lifespan."""
    world, tenants, app, remediations = build_world(public_url=public_url, **app_options)
    with TestClient(
        create_app(app), base_url=public_url, raise_server_exceptions=raise_server_exceptions
    ) as client:
        yield Api(world, app, client, tenants, remediations)
