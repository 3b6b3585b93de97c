"""Each company's AWS clients: its own keys or assumed role reach the signature, per company,
cached and refreshed. moto plays SSM and STS; a recorder on botocore's SigV4 signer notes the
access key every request is signed with (the proof that a company's credentials were used)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.stub import Stubber
from moto import mock_aws

from alertwhisperer_adapters.aws import CompanyAwsClients, CompanyPatchSource, role_session_name
from alertwhisperer_adapters.executors import SsmExecutor
from alertwhisperer_core import AwsCredentials, ExecutionStatus, InstancePatchState
from alertwhisperer_core.service import ComplianceNotConfigured

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ACME = AwsCredentials(
    region="eu-west-1",
    updated_at=T0,
    access_key_id="AKIAACMEACMEACMEACME",
    secret_access_key="a" * 40,
)
GLOBEX = AwsCredentials(
    region="us-east-2",
    updated_at=T0,
    role_arn="arn:aws:iam::123456789012:role/GlobexRunbooks",
    external_id="globex-ext-1",
)
SERVER_KEY = "AKIASERVERSERVERSERV"


class Signed:
    """(service, access key) of every request signed in this process, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests: list[tuple[str, str]] = []
        original = SigV4Auth.add_auth

        def add_auth(auth: SigV4Auth, request: Any) -> None:
            self.requests.append((auth._service_name, auth.credentials.access_key))
            original(auth, request)

        monkeypatch.setattr(SigV4Auth, "add_auth", add_auth)

    def keys(self, service: str) -> list[str]:
        return [key for s, key in self.requests if s == service]


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Signed]:
    with mock_aws():
        yield Signed(monkeypatch)


class Store:
    """The stored credentials per company, and how often they were read."""

    def __init__(self, **credentials: AwsCredentials) -> None:
        self.credentials: dict[str, AwsCredentials] = dict(credentials)
        self.reads = 0

    async def load(self, company_id: str) -> AwsCredentials | None:
        self.reads += 1
        return self.credentials.get(company_id)


class Server:
    """The server's own session (the principal that assumes companies' roles), with every
    AssumeRole call's parameters noted."""

    def __init__(self) -> None:
        self.assume_role: list[dict[str, Any]] = []

    def __call__(self, region: str) -> Any:
        session = boto3.Session(
            aws_access_key_id=SERVER_KEY, aws_secret_access_key="s" * 40, region_name=region
        )
        session.events.register(
            "provide-client-params.sts.AssumeRole",
            lambda params, **_: self.assume_role.append(dict(params)),
        )
        return session


class Clock:
    def __init__(self) -> None:
        self.t = 100.0
        self.offset = timedelta(0)

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def _run(client: Any, instance: str = "i-0000000000000001") -> Any:
    return await SsmExecutor(client).run(
        instance_id=instance, commands=["uptime"], timeout_seconds=30
    )


async def test_a_company_with_access_keys_signs_with_them(signed: Signed) -> None:
    clients = CompanyAwsClients(Store(acme=ACME).load)
    client = await clients.client("acme")
    result = await _run(client)
    assert result.status is ExecutionStatus.SUCCESS, result.output
    assert client.meta.region_name == "eu-west-1"
    assert signed.keys("ssm")
    assert set(signed.keys("ssm")) == {ACME.access_key_id}


async def test_two_companies_each_use_their_own_credentials(signed: Signed) -> None:
    server = Server()
    clients = CompanyAwsClients(Store(acme=ACME, globex=GLOBEX).load, server_session=server)
    acme, globex = await clients.client("acme"), await clients.client("globex")
    await _run(acme)
    acme_keys = signed.keys("ssm")
    await _run(globex)
    globex_keys = signed.keys("ssm")[len(acme_keys) :]
    assert set(acme_keys) == {ACME.access_key_id}
    # Globex's calls are signed with the temporary key STS issued for its role, not with the
    # server's key and not with Acme's.
    assert len(set(globex_keys)) == 1
    (temporary,) = set(globex_keys)
    assert temporary.startswith("ASIA")
    assert temporary not in (SERVER_KEY, ACME.access_key_id)
    assert signed.keys("sts") == [SERVER_KEY]
    assert server.assume_role == [
        {
            "RoleArn": GLOBEX.role_arn,
            "RoleSessionName": "alertwhisperer-globex",
            "DurationSeconds": 3600,
            "ExternalId": "globex-ext-1",
        }
    ]
    assert globex.meta.region_name == "us-east-2"


async def test_a_company_without_credentials_has_no_client_of_its_own() -> None:
    store = Store(acme=ACME)
    clients = CompanyAwsClients(store.load)
    assert await clients.client("globex") is None


async def test_the_client_is_cached_for_the_ttl_then_checked_again() -> None:
    store, clock = Store(acme=ACME), Clock()
    clients = CompanyAwsClients(store.load, ttl=60, monotonic=clock.monotonic)
    first = await clients.client("acme")
    clock.t += 59
    assert await clients.client("acme") is first
    assert store.reads == 1
    clock.t += 2  # past the TTL: read again; unchanged credentials keep the client
    assert await clients.client("acme") is first
    assert store.reads == 2


async def test_changed_credentials_make_a_new_client_after_the_ttl(signed: Signed) -> None:
    store, clock = Store(acme=ACME), Clock()
    clients = CompanyAwsClients(store.load, ttl=60, monotonic=clock.monotonic)
    first = await clients.client("acme")
    rotated = AwsCredentials(
        region="eu-west-1", updated_at=T0 + timedelta(days=1),
        access_key_id="AKIAROTATEDROTATEDRO", secret_access_key="b" * 40,
    )  # fmt: skip
    store.credentials["acme"] = rotated
    assert await clients.client("acme") is first  # within the TTL, another process's change
    clock.t += 61
    second = await clients.client("acme")
    assert second is not first
    await _run(second)
    assert set(signed.keys("ssm")) == {"AKIAROTATEDROTATEDRO"}


async def test_invalidate_takes_a_change_at_once() -> None:
    store, clock = Store(acme=ACME), Clock()
    clients = CompanyAwsClients(store.load, ttl=60, monotonic=clock.monotonic)
    first = await clients.client("acme")
    del store.credentials["acme"]
    clients.invalidate("acme")
    assert await clients.client("acme") is None
    store.credentials["acme"] = ACME
    clients.invalidate("acme")
    assert await clients.client("acme") not in (None, first)


async def test_an_assumed_role_is_refreshed_before_it_expires(signed: Signed) -> None:
    server, clock = Server(), Clock()
    clients = CompanyAwsClients(
        Store(globex=GLOBEX).load, server_session=server, time_fetcher=clock.wall
    )
    client = await clients.client("globex")
    await _run(client)
    await _run(client)
    assert len(server.assume_role) == 1  # one role session serves many calls
    first_key = signed.keys("ssm")[-1]
    clock.offset = timedelta(minutes=50)  # 10 minutes before the hour runs out
    await _run(client)
    refreshed = len(server.assume_role)
    assert refreshed > 1
    assert signed.keys("ssm")[-1] != first_key
    # (moto's expiry follows the real clock, so while the fake one stays 50 minutes ahead
    # every call refreshes; back on time, the fresh credentials serve without a refresh.)
    clock.offset = timedelta(0)
    await _run(client)
    assert len(server.assume_role) == refreshed


def _denying_server(region: str) -> Any:
    session = boto3.Session(
        aws_access_key_id=SERVER_KEY, aws_secret_access_key="s" * 40, region_name=region
    )
    real_client = session.client

    def client(service: str, **kwargs: Any) -> Any:
        sts = real_client(service, **kwargs)
        stubber = Stubber(sts)
        stubber.add_client_error(
            "assume_role", "AccessDenied", "not authorized to perform sts:AssumeRole", 403
        )
        stubber.activate()
        return sts

    session.client = client  # type: ignore[method-assign]
    return session


async def test_a_role_the_server_may_not_assume_fails_the_run_with_the_reason() -> None:
    clients = CompanyAwsClients(Store(globex=GLOBEX).load, server_session=_denying_server)
    client = await clients.client("globex")
    result = await _run(client)
    assert result.status is ExecutionStatus.FAILED
    assert "AccessDenied" in result.output
    assert "AssumeRole" in result.output


def test_role_session_names_fit_sts_rules() -> None:
    assert role_session_name("co-acme") == "alertwhisperer-co-acme"
    assert role_session_name("a b/c") == "alertwhisperer-a-b-c"
    assert len(role_session_name("x" * 100)) == 64


# --- patch compliance through the company's client --------------------------------------------


class Recorded:
    """A patch source that makes one SSM call with the client it was given."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        await asyncio.to_thread(self.client.describe_parameters)
        return [InstancePatchState(f"i-{company_id}")]


class Default:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        self.asked.append(company_id)
        return [InstancePatchState("i-server")]


async def test_compliance_syncs_with_the_companys_own_client(signed: Signed) -> None:
    default = Default()
    source = CompanyPatchSource(CompanyAwsClients(Store(acme=ACME).load), default, source=Recorded)
    assert await source.instance_states("acme") == [InstancePatchState("i-acme")]
    assert set(signed.keys("ssm")) == {ACME.access_key_id}
    assert default.asked == []


async def test_compliance_of_a_company_without_credentials_uses_the_servers() -> None:
    default = Default()
    source = CompanyPatchSource(CompanyAwsClients(Store().load), default, source=Recorded)
    assert await source.instance_states("acme") == [InstancePatchState("i-server")]
    assert default.asked == ["acme"]


async def test_compliance_without_any_credentials_is_not_configured() -> None:
    source = CompanyPatchSource(CompanyAwsClients(Store().load), None, source=Recorded)
    with pytest.raises(ComplianceNotConfigured, match="AWS is not configured"):
        await source.instance_states("acme")
