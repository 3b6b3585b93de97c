"""The local executor: explicit opt-in, no root by surprise, SSM's script semantics, timeouts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from alertwhisperer_adapters.executors import LocalExecutor, LocalExecutorRefused
from alertwhisperer_core import ExecutionStatus


def _executor() -> LocalExecutor:
    # The test machine may run as root; consenting here is what the refusal tests check.
    return LocalExecutor(enabled=True, allow_root=True)


def test_refuses_to_construct_unless_enabled() -> None:
    with pytest.raises(LocalExecutorRefused, match="enable it explicitly"):
        LocalExecutor()


def test_refuses_to_run_as_root_without_consent() -> None:
    with pytest.raises(LocalExecutorRefused, match="root"):
        LocalExecutor(enabled=True, euid=lambda: 0)


def test_runs_as_root_only_with_allow_root() -> None:
    assert LocalExecutor(enabled=True, allow_root=True, euid=lambda: 0).name == "local"


def test_an_unprivileged_user_needs_no_consent() -> None:
    assert LocalExecutor(enabled=True, euid=lambda: 1000).name == "local"


async def test_commands_run_in_order_as_one_script() -> None:
    result = await _executor().run(
        instance_id=None, commands=["x=hello", "echo $x", "echo world >&2"], timeout_seconds=10
    )
    assert result.status is ExecutionStatus.SUCCESS
    assert result.output == "hello\nworld\n"
    assert result.command_id.startswith("local-")
    assert result.duration_seconds is not None
    assert result.duration_seconds >= 0


async def test_a_non_zero_exit_fails_with_the_status_in_the_output() -> None:
    result = await _executor().run(
        instance_id=None, commands=["echo trying", "exit 3"], timeout_seconds=10
    )
    assert result.status is ExecutionStatus.FAILED
    assert result.output == "trying\n\n[exit status 3]"


async def test_without_set_e_the_script_goes_on_after_a_failure_like_ssm() -> None:
    result = await _executor().run(
        instance_id=None, commands=["false", "echo after"], timeout_seconds=10
    )
    assert result.status is ExecutionStatus.SUCCESS
    assert result.output == "after\n"


async def test_set_e_stops_at_the_first_failure() -> None:
    result = await _executor().run(
        instance_id=None, commands=["set -e", "false", "echo after"], timeout_seconds=10
    )
    assert result.status is ExecutionStatus.FAILED
    assert "after" not in result.output


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "survived"
    result = await _executor().run(
        instance_id=None,
        commands=[f"(sleep 2; touch {marker}) &", "sleep 30"],
        timeout_seconds=1,
    )
    assert result.status is ExecutionStatus.TIMED_OUT
    await asyncio.sleep(1.5)
    assert not marker.exists()


async def test_cancellation_kills_the_process(tmp_path: Path) -> None:
    marker = tmp_path / "survived"
    task = asyncio.create_task(
        _executor().run(instance_id=None, commands=[f"sleep 1; touch {marker}"], timeout_seconds=30)
    )
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(1.2)
    assert not marker.exists()


async def test_instance_id_is_ignored() -> None:
    result = await _executor().run(instance_id="i-0abc", commands=["true"], timeout_seconds=5)
    assert result.status is ExecutionStatus.SUCCESS
