"""The dry-run executor records what would run and echoes it."""

from __future__ import annotations

from alertwhisperer_adapters.executors import DryRun, DryRunExecutor
from alertwhisperer_core import ExecutionStatus


async def test_records_the_run_and_succeeds_with_the_commands_echoed() -> None:
    executor = DryRunExecutor()
    result = await executor.run(
        instance_id="i-0abc", commands=["df -h", "rm -rf /var/log/old"], timeout_seconds=30
    )
    assert result.status is ExecutionStatus.SUCCESS
    assert result.output == (
        "dry run: would run on i-0abc (timeout 30 s):\n$ df -h\n$ rm -rf /var/log/old"
    )
    assert executor.runs == [DryRun("i-0abc", ("df -h", "rm -rf /var/log/old"), 30)]


async def test_each_run_gets_its_own_command_id() -> None:
    executor = DryRunExecutor()
    first = await executor.run(instance_id=None, commands=["true"], timeout_seconds=1)
    second = await executor.run(instance_id=None, commands=["true"], timeout_seconds=1)
    assert first.command_id != second.command_id
    assert "this machine" in first.output
