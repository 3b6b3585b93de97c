"""The local executor: a runbook's actions as one ``/bin/sh -c`` script on this machine.

For development and the embedded default only, and never by surprise: it refuses to be built
unless explicitly enabled (``LocalExecutor(enabled=True)``; the server does that only when
``AW_LOCAL_EXECUTOR=1``), and refuses to run as root unless ``allow_root=True`` as well.

The script semantics are SSM's ``AWS-RunShellScript``: the actions run in order as one script
and its exit status is the last command's; a runbook that must stop at the first failure says
``set -e`` as its first action. Output is stdout and stderr interleaved, truncated like SSM's.
On timeout the whole process group is killed and the run is ``TimedOut``; if the task running
it is cancelled, the process group is killed too and the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from alertwhisperer_core import CommandResult, ExecutionStatus

__all__ = ["LocalExecutor", "LocalExecutorRefused"]


class LocalExecutorRefused(RuntimeError):
    """The local executor was asked for without being enabled, or as root without consent."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalExecutor:
    """Runs runbook actions in a local subprocess (``instance_id`` is ignored)."""

    name = "local"

    def __init__(
        self,
        *,
        enabled: bool = False,
        allow_root: bool = False,
        shell: str = "/bin/sh",
        euid: Callable[[], int] = os.geteuid,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not enabled:
            raise LocalExecutorRefused(
                "the local executor runs shell commands on this machine: enable it explicitly "
                "(LocalExecutor(enabled=True), or AW_LOCAL_EXECUTOR=1 for the server)"
            )
        if euid() == 0 and not allow_root:
            raise LocalExecutorRefused(
                "refusing to run runbooks as root; run the server as another user "
                "or pass allow_root=True"
            )
        self._shell = shell
        self._now = now
        self._runs = 0

    async def run(
        self, *, instance_id: str | None, commands: Sequence[str], timeout_seconds: int
    ) -> CommandResult:
        """Run ``commands`` as one script; ``Success`` when it exits 0."""
        self._runs += 1
        command_id = f"local-{os.getpid()}-{self._runs}-{time.monotonic_ns()}"
        started = self._now()
        process = await asyncio.create_subprocess_exec(
            self._shell,
            "-c",
            "\n".join(commands),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Its own process group, so a timeout kills what the script started as well.
            start_new_session=True,
        )
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(), timeout_seconds)
        except TimeoutError:
            await _kill(process)
            return CommandResult(
                status=ExecutionStatus.TIMED_OUT,
                command_id=command_id,
                output=f"timed out after {timeout_seconds} s; the process group was killed",
                started_at=started,
                finished_at=self._now(),
            )
        except asyncio.CancelledError:
            await _kill(process)
            raise
        status = ExecutionStatus.SUCCESS if process.returncode == 0 else ExecutionStatus.FAILED
        output = stdout.decode("utf-8", errors="replace")
        if status is ExecutionStatus.FAILED:
            output += f"\n[exit status {process.returncode}]"
        return CommandResult(
            status=status,
            command_id=command_id,
            output=output,
            started_at=started,
            finished_at=self._now(),
        )


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await process.wait()
