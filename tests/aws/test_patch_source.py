"""The Patch Manager source, with botocore's Stubber: moto (5.x) implements neither
DescribeInstanceInformation nor DescribeInstancePatchStates, so every path is stubbed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from alertwhisperer_adapters.aws import MAX_IDS_PER_CALL, SsmPatchSource, patch_state
from alertwhisperer_core import InstancePatchState
from alertwhisperer_core.service import ComplianceSourceFailed

REGION = "eu-west-1"
SCANNED = datetime(2026, 11, 26, 3, 15, tzinfo=UTC)


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ssm", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _info(stubber: Stubber, instances: list[dict[str, Any]], token: str | None = None,
          next_token: str | None = None) -> None:  # fmt: skip
    params: dict[str, Any] = {"MaxResults": 50}
    if token:
        params["NextToken"] = token
    response: dict[str, Any] = {"InstanceInformationList": instances}
    if next_token:
        response["NextToken"] = next_token
    stubber.add_response("describe_instance_information", response, params)


def _states(stubber: Stubber, ids: list[str], states: list[dict[str, Any]],
            token: str | None = None, next_token: str | None = None) -> None:  # fmt: skip
    params: dict[str, Any] = {"InstanceIds": ids, "MaxResults": 50}
    if token:
        params["NextToken"] = token
    response: dict[str, Any] = {"InstancePatchStates": states}
    if next_token:
        response["NextToken"] = next_token
    stubber.add_response("describe_instance_patch_states", response, params)


def _record(instance_id: str, **counts: Any) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "PatchGroup": "default",
        "BaselineId": "pb-0123456789abcdef0",
        "OperationStartTime": SCANNED - timedelta(minutes=5),
        "OperationEndTime": SCANNED,
        "Operation": "Scan",
        **counts,
    }


def _source(client: Any, sleep: Sleeps | None = None, **options: Any) -> SsmPatchSource:
    return SsmPatchSource(client, sleep=sleep or Sleeps(), **options)


async def test_states_map_patch_manager_counts() -> None:
    record = _record(
        "i-0a", InstalledCount=30, InstalledOtherCount=4, InstalledPendingRebootCount=1,
        InstalledRejectedCount=2, MissingCount=3, FailedCount=1, CriticalNonCompliantCount=2,
        SecurityNonCompliantCount=3, NotApplicableCount=50,
    )  # fmt: skip
    assert patch_state(record, "production") == InstancePatchState(
        "i-0a", "production", installed=35, missing=3, critical_missing=2,
        security_missing=3, failed=1, last_operation_at=SCANNED,
    )  # fmt: skip


def test_operation_time_is_normalized_to_utc() -> None:
    local = SCANNED.astimezone(timezone(timedelta(hours=2)))
    assert patch_state(_record("i-1", OperationEndTime=local)).last_operation_at == SCANNED
    naive = SCANNED.replace(tzinfo=None)
    assert patch_state(_record("i-1", OperationEndTime=naive)).last_operation_at == SCANNED
    missing = {"InstanceId": "i-1"}
    assert patch_state(missing) == InstancePatchState("i-1")


async def test_both_calls_are_followed_page_by_page(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _info(stubber, [{"InstanceId": "i-2"}], next_token="page-2")
    _info(stubber, [{"InstanceId": "i-1"}], token="page-2")
    _states(stubber, ["i-1", "i-2"], [_record("i-2", MissingCount=1)], next_token="more")
    _states(stubber, ["i-1", "i-2"], [_record("i-1", InstalledCount=7)], token="more")
    states = await _source(client).instance_states("acme")
    assert states == [
        InstancePatchState("i-1", installed=7, last_operation_at=SCANNED),
        InstancePatchState("i-2", missing=1, last_operation_at=SCANNED),
    ]


async def test_patch_states_are_asked_for_at_most_50_instances_at_a_time(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    ids = [f"i-{n:03d}" for n in range(MAX_IDS_PER_CALL + 7)]
    _info(stubber, [{"InstanceId": i} for i in ids[:30]], next_token="p2")
    _info(stubber, [{"InstanceId": i} for i in ids[30:]], token="p2")
    _states(stubber, ids[:50], [_record(i) for i in ids[:50]])
    _states(stubber, ids[50:], [_record(i) for i in ids[50:]])
    states = await _source(client).instance_states("acme")
    assert [s.instance_id for s in states] == ids


async def test_an_empty_fleet_asks_for_no_patch_states(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _info(stubber, [])
    assert await _source(client).instance_states("acme") == []


async def test_an_instance_never_scanned_is_left_out(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _info(stubber, [{"InstanceId": "i-1"}, {"InstanceId": "mi-new"}])
    _states(stubber, ["i-1", "mi-new"], [_record("i-1")])
    assert [s.instance_id for s in await _source(client).instance_states("acme")] == ["i-1"]


async def test_environment_comes_from_the_first_matching_name_pattern(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _info(
        stubber,
        [
            {"InstanceId": "i-1", "ComputerName": "prod-web-01.example.internal"},
            {"InstanceId": "i-2", "ComputerName": "ip-10-0-0-7", "Name": "stg-db"},
            {"InstanceId": "i-3", "ComputerName": "laptop-17"},
        ],
    )
    _states(stubber, ["i-1", "i-2", "i-3"], [_record(i) for i in ("i-1", "i-2", "i-3")])
    source = _source(
        client, environments=[("prod-*", "production"), ("stg-*", "staging"), ("*web*", "x")]
    )
    states = await source.instance_states("acme")
    assert [s.environment for s in states] == ["production", "staging", ""]


async def test_throttling_is_retried_with_backoff(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("describe_instance_information", "ThrottlingException")
    stubber.add_client_error("describe_instance_information", "ThrottlingException")
    _info(stubber, [{"InstanceId": "i-1"}])
    stubber.add_client_error("describe_instance_patch_states", "TooManyRequestsException")
    _states(stubber, ["i-1"], [_record("i-1")])
    sleeps = Sleeps()
    states = await _source(client, sleeps, initial_delay=1, max_delay=4).instance_states("a")
    assert [s.instance_id for s in states] == ["i-1"]
    assert sleeps.slept == [1, 2, 1]


async def test_throttling_past_the_retries_fails_the_sync(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):
        stubber.add_client_error("describe_instance_information", "ThrottlingException")
    sleeps = Sleeps()
    source = _source(client, sleeps, initial_delay=1, max_delay=2, max_retries=2)
    with pytest.raises(ComplianceSourceFailed, match=r"DescribeInstanceInformation.*Throttling"):
        await source.instance_states("acme")
    assert sleeps.slept == [1, 2]


async def test_access_denied_fails_at_once_naming_the_call_but_not_the_account(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _info(stubber, [{"InstanceId": "i-1"}])
    stubber.add_client_error(
        "describe_instance_patch_states",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/aw is not authorized",
    )
    sleeps = Sleeps()
    with pytest.raises(ComplianceSourceFailed) as raised:
        await _source(client, sleeps).instance_states("acme")
    assert raised.value.detail == (
        "AWS Systems Manager DescribeInstancePatchStates failed: AccessDeniedException"
    )
    assert "123456789012" not in raised.value.detail
    assert raised.value.error_status_hint == 502
    assert sleeps.slept == []


@pytest.mark.parametrize(
    "options",
    [{"initial_delay": 0}, {"initial_delay": 2, "max_delay": 1}, {"max_retries": -1}],
)
def test_nonsense_backoff_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        SsmPatchSource(object(), **options)
