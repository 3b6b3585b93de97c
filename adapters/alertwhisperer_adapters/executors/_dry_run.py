"""The dry-run executor: records what would run and reports success without running anything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs

from alertwhisperer_core import CommandResult, ExecutionStatus

__all__ = ["DryRun", "DryRunExecutor"]


@attrs.frozen
class DryRun:
    """One recorded run."""

    instance_id: str | None
    commands: tuple[str, ...]
    timeout_seconds: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DryRunExecutor:
    """Runs nothing: every run succeeds with the commands echoed, and is kept in :attr:`runs`.

    The server uses it when no real executor is configured, so a low-risk runbook shows what it
    would have done, and a self-heal is only claimed when the health check agrees.
    """

    name = "dry_run"

    def __init__(self, *, now: Callable[[], datetime] = _utc_now) -> None:
        self._now = now
        self.runs: list[DryRun] = []

    async def run(
        self, *, instance_id: str | None, commands: Sequence[str], timeout_seconds: int
    ) -> CommandResult:
        """Record the run and report ``Success`` with the commands as the output."""
        started = self._now()
        self.runs.append(DryRun(instance_id, tuple(commands), timeout_seconds))
        target = instance_id or "this machine"
        lines = [f"dry run: would run on {target} (timeout {timeout_seconds} s):"]
        lines.extend(f"$ {command}" for command in commands)
        return CommandResult(
            status=ExecutionStatus.SUCCESS,
            command_id=f"dry-run-{len(self.runs)}",
            output="\n".join(lines),
            started_at=started,
            finished_at=self._now(),
        )
