"""The SSM executor: moto for the happy path, botocore's Stubber for every other path
(moto answers Success at once and cannot throttle, time out or cancel)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from alertwhisperer_adapters.executors import SsmExecutor, ssm_status
from alertwhisperer_core import ExecutionStatus

REGION = "eu-west-1"
CMD = "0b7a2d3c-1e4f-4a5b-9c8d-7e6f5a4b3c2d"  # SSM command ids are UUIDs


class FakeTime:
    """A monotonic clock that moves only when the executor sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def _client() -> Any:
    return boto3.client(
        "ssm",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = _client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _executor(client: Any, clock: FakeTime, **options: Any) -> SsmExecutor:
    return SsmExecutor(client, sleep=clock.sleep, monotonic=clock.monotonic, **options)


def _send(stubber: Stubber, timeout: int = 60) -> None:
    stubber.add_response(
        "send_command",
        {"Command": {"CommandId": CMD}},
        {
            "InstanceIds": ["i-0abc"],
            "DocumentName": "AWS-RunShellScript",
            "Comment": ANY,
            "Parameters": {
                "commands": ["systemctl restart nginx"],
                "executionTimeout": [str(timeout)],
            },
        },
    )


def _invocation(stubber: Stubber, status: str, stdout: str = "", stderr: str = "") -> None:
    stubber.add_response(
        "get_command_invocation",
        {
            "CommandId": CMD,
            "InstanceId": "i-0abc",
            "Status": status,
            "StandardOutputContent": stdout,
            "StandardErrorContent": stderr,
        },
        {"CommandId": CMD, "InstanceId": "i-0abc"},
    )


def _cancel(stubber: Stubber) -> None:
    stubber.add_response("cancel_command", {}, {"CommandId": CMD, "InstanceIds": ["i-0abc"]})


async def _run(executor: SsmExecutor, timeout: int = 60) -> Any:
    return await executor.run(
        instance_id="i-0abc", commands=["systemctl restart nginx"], timeout_seconds=timeout
    )


async def test_moto_runs_a_command_to_success() -> None:
    with mock_aws():
        client = _client()
        clock = FakeTime()
        result = await SsmExecutor(client, sleep=clock.sleep, monotonic=clock.monotonic).run(
            instance_id="i-0123456789abcdef0", commands=["echo hello"], timeout_seconds=60
        )
        listed = client.list_commands(CommandId=result.command_id)["Commands"]
    assert result.status is ExecutionStatus.SUCCESS
    assert listed[0]["DocumentName"] == "AWS-RunShellScript"
    assert listed[0]["Parameters"]["commands"] == ["echo hello"]
    assert result.duration_seconds is not None
    assert result.duration_seconds >= 0


async def test_in_progress_is_polled_with_exponential_backoff_until_success(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _send(stubber)
    for status in ("Pending", "InProgress", "InProgress", "Delayed"):
        _invocation(stubber, status)
    _invocation(stubber, "Success", stdout="nginx restarted")
    clock = FakeTime()
    result = await _run(_executor(client, clock, initial_delay=1, max_delay=4))
    assert result.status is ExecutionStatus.SUCCESS
    assert result.command_id == CMD
    assert result.output == "nginx restarted"
    assert clock.sleeps == [1, 2, 4, 4]


async def test_invocation_not_registered_yet_counts_as_pending(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _send(stubber)
    stubber.add_client_error("get_command_invocation", "InvocationDoesNotExist")
    _invocation(stubber, "Success")
    result = await _run(_executor(client, FakeTime()))
    assert result.status is ExecutionStatus.SUCCESS


async def test_failed_command_keeps_stdout_and_stderr(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _send(stubber)
    _invocation(stubber, "Failed", stdout="stopping", stderr="unit nginx not found")
    result = await _run(_executor(client, FakeTime()))
    assert result.status is ExecutionStatus.FAILED
    assert result.output == "stopping\n--- stderr ---\nunit nginx not found"


async def test_timeout_cancels_the_command_and_reports_timed_out(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _send(stubber, timeout=10)
    for _ in range(4):  # polls at t=0, 4, 8, 10 of a 10 s budget
        _invocation(stubber, "InProgress", stdout="still going")
    _cancel(stubber)
    clock = FakeTime()
    result = await _run(_executor(client, clock, initial_delay=4, max_delay=4), timeout=10)
    assert result.status is ExecutionStatus.TIMED_OUT
    assert result.output == "still going"
    assert sum(clock.sleeps) == 10  # never slept past the deadline


async def test_throttled_polls_are_retried_with_backoff(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _send(stubber)
    stubber.add_client_error("get_command_invocation", "ThrottlingException", http_status_code=400)
    stubber.add_client_error("get_command_invocation", "ThrottlingException", http_status_code=400)
    _invocation(stubber, "Success")
    clock = FakeTime()
    result = await _run(_executor(client, clock, initial_delay=1, max_delay=8))
    assert result.status is ExecutionStatus.SUCCESS
    assert clock.sleeps == [1, 2]


async def test_throttled_send_is_retried(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("send_command", "ThrottlingException", http_status_code=400)
    _send(stubber)
    _invocation(stubber, "Success")
    result = await _run(_executor(client, FakeTime()))
    assert result.status is ExecutionStatus.SUCCESS


async def test_send_throttled_until_the_timeout_fails_without_a_command(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    for _ in range(3):  # t=0, 2, 3 of a 3 s budget
        stubber.add_client_error("send_command", "ThrottlingException", http_status_code=400)
    result = await _run(_executor(client, FakeTime(), initial_delay=2, max_delay=2), timeout=3)
    assert result.status is ExecutionStatus.FAILED
    assert result.command_id == ""
    assert "throttled" in result.output


async def test_throttling_past_the_deadline_times_out_and_cancels(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _send(stubber, timeout=5)
    for _ in range(2):  # t=0 and t=5 of a 5 s budget
        stubber.add_client_error(
            "get_command_invocation", "ThrottlingException", http_status_code=400
        )
    _cancel(stubber)
    result = await _run(_executor(client, FakeTime(), initial_delay=5, max_delay=5), timeout=5)
    assert result.status is ExecutionStatus.TIMED_OUT


async def test_access_denied_on_send_fails_with_the_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "send_command", "AccessDeniedException", "not authorized to perform ssm:SendCommand"
    )
    result = await _run(_executor(client, FakeTime()))
    assert result.status is ExecutionStatus.FAILED
    assert "ssm:SendCommand" in result.output


async def test_other_errors_while_polling_fail_the_run(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _send(stubber)
    stubber.add_client_error("get_command_invocation", "InvalidInstanceId", "not managed")
    result = await _run(_executor(client, FakeTime()))
    assert result.status is ExecutionStatus.FAILED
    assert result.command_id == CMD
    assert "InvalidInstanceId" in result.output


async def test_a_command_cancelled_on_aws_is_reported_cancelled(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _send(stubber)
    _invocation(stubber, "Cancelling")
    _invocation(stubber, "Cancelled")
    result = await _run(_executor(client, FakeTime()))
    assert result.status is ExecutionStatus.CANCELLED


async def test_cancelling_the_task_cancels_the_command(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _send(stubber)
    _invocation(stubber, "InProgress")
    _cancel(stubber)
    polled = asyncio.Event()

    async def sleep_forever(_seconds: float) -> None:
        polled.set()
        await asyncio.Event().wait()

    executor = SsmExecutor(client, sleep=sleep_forever)
    task = asyncio.create_task(_run(executor))
    await polled.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_asset_without_instance_id_fails_without_calling_aws(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, _ = stubbed
    result = await _executor(client, FakeTime()).run(
        instance_id=None, commands=["true"], timeout_seconds=5
    )
    assert result.status is ExecutionStatus.FAILED
    assert "instance_id" in result.output


async def test_long_output_is_truncated(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _send(stubber)
    _invocation(stubber, "Success", stdout="x" * 30_000)
    result = await _run(_executor(client, FakeTime()))
    assert len(result.output) <= 24_000
    assert "truncated" in result.output


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Pending", ExecutionStatus.PENDING),
        ("InProgress", ExecutionStatus.IN_PROGRESS),
        ("Delayed", ExecutionStatus.IN_PROGRESS),
        ("Cancelling", ExecutionStatus.IN_PROGRESS),
        ("Success", ExecutionStatus.SUCCESS),
        ("Failed", ExecutionStatus.FAILED),
        ("TimedOut", ExecutionStatus.TIMED_OUT),
        ("Cancelled", ExecutionStatus.CANCELLED),
        ("SomethingNew", ExecutionStatus.IN_PROGRESS),
    ],
)
def test_ssm_statuses_map_to_ours(raw: str, status: ExecutionStatus) -> None:
    assert ssm_status(raw) is status


@pytest.mark.parametrize(("initial", "maximum"), [(0, 1), (-1, 1), (2, 1)])
def test_backoff_bounds_are_validated(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        SsmExecutor(_client(), initial_delay=initial, max_delay=maximum)
