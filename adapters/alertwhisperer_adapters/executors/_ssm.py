"""The AWS Systems Manager executor: ``SendCommand`` with ``AWS-RunShellScript``, then polling.

The flow (SPEC §7):

1. ``SendCommand`` to the asset's instance id with the runbook's actions as the script.
2. ``GetCommandInvocation`` until the status is terminal, waiting between polls with
   exponential backoff (``initial_delay`` doubling up to ``max_delay``), and never past the
   runbook's timeout. ``InvocationDoesNotExist`` right after sending is normal (the
   invocation is not registered yet) and counts as pending.
3. When the timeout passes first: ``CancelCommand``, and the run is ``TimedOut``.

Throttling (``ThrottlingException`` and its cousins) on any call is retried with the same
backoff until the deadline. Any other AWS error ends the run as ``Failed`` with the error in
the output, so a misconfigured permission shows up on the execution rather than in a log.
If the task running :meth:`SsmExecutor.run` is cancelled (server shutdown) the command is
cancelled on AWS too, and the cancellation propagates.

boto3 is synchronous: every call runs in a worker thread, so a slow poll never stalls the
event loop. The clock and the sleep are injected so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from alertwhisperer_core import CommandResult, ExecutionStatus

__all__ = ["THROTTLING_CODES", "SsmExecutor", "ssm_status"]

logger = logging.getLogger("alertwhisperer.executors.ssm")

DOCUMENT = "AWS-RunShellScript"
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ThrottledException",
    }
)
_PENDING_CODES = frozenset({"InvocationDoesNotExist"})
# SSM's invocation statuses; "Delayed" and "Cancelling" are on their way to a terminal one.
_STATUS = {
    "Pending": ExecutionStatus.PENDING,
    "InProgress": ExecutionStatus.IN_PROGRESS,
    "Delayed": ExecutionStatus.IN_PROGRESS,
    "Cancelling": ExecutionStatus.IN_PROGRESS,
    "Success": ExecutionStatus.SUCCESS,
    "Failed": ExecutionStatus.FAILED,
    "TimedOut": ExecutionStatus.TIMED_OUT,
    "Cancelled": ExecutionStatus.CANCELLED,
}


def ssm_status(value: str) -> ExecutionStatus:
    """Our status for SSM's invocation ``Status``; an unknown one counts as still running."""
    return _STATUS.get(value, ExecutionStatus.IN_PROGRESS)


class _Deadline(Exception):
    """The runbook's timeout passed while a call was still being retried."""


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def _real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SsmExecutor:
    """Runs runbook actions on an EC2 (or hybrid) instance through AWS Systems Manager.

    ``client`` is a boto3 ``ssm`` client (one per company's credentials and region); the
    executor never creates one itself. ``sleep``, ``monotonic`` and ``now`` exist for tests.
    """

    name = "ssm"

    def __init__(
        self,
        client: Any,
        *,
        initial_delay: float = 1.0,
        max_delay: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] = _real_sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        comment: str = "Alert Whisperer runbook",
    ) -> None:
        if initial_delay <= 0 or max_delay < initial_delay:
            raise ValueError("need 0 < initial_delay <= max_delay")
        self._client = client
        self._initial = initial_delay
        self._max = max_delay
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now
        self._comment = comment[:100]  # SSM's limit for Comment

    async def run(
        self, *, instance_id: str | None, commands: Sequence[str], timeout_seconds: int
    ) -> CommandResult:
        """Run ``commands`` as one shell script on ``instance_id``; see the module docstring."""
        started = self._now()
        if not instance_id:
            return CommandResult(
                status=ExecutionStatus.FAILED,
                command_id="",
                output="no SSM target: the asset has no instance_id",
                started_at=started,
                finished_at=self._now(),
            )
        deadline = self._monotonic() + timeout_seconds
        try:
            sent = await self._call(
                deadline,
                "send_command",
                InstanceIds=[instance_id],
                DocumentName=DOCUMENT,
                Comment=self._comment,
                Parameters={
                    "commands": list(commands),
                    "executionTimeout": [str(timeout_seconds)],
                },
            )
        except _Deadline:
            return self._failed(started, "", "SendCommand was throttled until the timeout")
        except (ClientError, BotoCoreError) as error:
            return self._failed(started, "", f"SendCommand failed: {error}")
        command_id = str(sent["Command"]["CommandId"])
        try:
            return await self._poll(command_id, instance_id, deadline, started)
        except asyncio.CancelledError:
            await self._cancel(command_id, instance_id)
            raise

    async def _poll(
        self, command_id: str, instance_id: str, deadline: float, started: datetime
    ) -> CommandResult:
        delay = self._initial
        output = ""
        while True:
            try:
                invocation = await self._call(
                    deadline, "get_command_invocation", CommandId=command_id, InstanceId=instance_id
                )
            except _Deadline:
                break
            except ClientError as error:
                if _error_code(error) not in _PENDING_CODES:
                    return self._failed(started, command_id, f"GetCommandInvocation: {error}")
                invocation = {"Status": "Pending"}
            except BotoCoreError as error:
                return self._failed(started, command_id, f"GetCommandInvocation: {error}")
            status = ssm_status(str(invocation.get("Status", "")))
            output = _output(invocation)
            if status.terminal:
                return CommandResult(
                    status=status,
                    command_id=command_id,
                    output=output,
                    started_at=started,
                    finished_at=self._now(),
                )
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                break
            await self._sleep(min(delay, remaining))
            delay = min(delay * 2, self._max)
        await self._cancel(command_id, instance_id)
        return CommandResult(
            status=ExecutionStatus.TIMED_OUT,
            command_id=command_id,
            output=output,
            started_at=started,
            finished_at=self._now(),
        )

    async def _cancel(self, command_id: str, instance_id: str) -> None:
        try:
            # A short budget of its own: the runbook's deadline has usually passed already.
            await self._call(
                self._monotonic() + 30,
                "cancel_command",
                CommandId=command_id,
                InstanceIds=[instance_id],
            )
        except (ClientError, BotoCoreError, _Deadline) as error:
            # The command may have finished in between; the recorded status stands either way.
            logger.warning("CancelCommand %s failed: %s", command_id, error)

    async def _call(self, deadline: float, method: str, **params: Any) -> dict[str, Any]:
        """One boto3 call in a worker thread, retried with backoff while throttled."""
        delay = self._initial
        while True:
            try:
                result: dict[str, Any] = await asyncio.to_thread(
                    getattr(self._client, method), **params
                )
                return result
            except ClientError as error:
                if _error_code(error) not in THROTTLING_CODES:
                    raise
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    raise _Deadline(method) from error
                logger.info("%s throttled; retrying in %.1fs", method, min(delay, remaining))
                await self._sleep(min(delay, remaining))
                delay = min(delay * 2, self._max)

    def _failed(self, started: datetime, command_id: str, message: str) -> CommandResult:
        return CommandResult(
            status=ExecutionStatus.FAILED,
            command_id=command_id,
            output=message,
            started_at=started,
            finished_at=self._now(),
        )


def _output(invocation: dict[str, Any]) -> str:
    stdout = str(invocation.get("StandardOutputContent") or "")
    stderr = str(invocation.get("StandardErrorContent") or "")
    if stderr:
        return f"{stdout}\n--- stderr ---\n{stderr}" if stdout else f"--- stderr ---\n{stderr}"
    return stdout
