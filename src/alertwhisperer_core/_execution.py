"""Runbook execution records: what an executor reports and what is kept of a run."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["OUTPUT_LIMIT", "CommandResult", "Execution", "ExecutionStatus", "truncate_output"]

# Output kept per execution; SSM itself truncates inline output at 24,000 characters.
OUTPUT_LIMIT = 24_000


class ExecutionStatus(enum.StrEnum):
    """AWS Systems Manager's command statuses, which every executor reports in."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCESS = "Success"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self not in (ExecutionStatus.PENDING, ExecutionStatus.IN_PROGRESS)


def truncate_output(output: str, limit: int = OUTPUT_LIMIT) -> str:
    """Keep the head and the tail of long output: the tail holds the error, the head the context."""
    if len(output) <= limit:
        return output
    marker = f"\n… [{len(output) - limit} characters truncated] …\n"
    half = (limit - len(marker)) // 2
    return output[:half] + marker + output[-half:]


@attrs.frozen
class CommandResult:
    """What an executor reports for one run of a runbook's actions."""

    status: ExecutionStatus
    command_id: str
    output: str = attrs.field(default="", converter=truncate_output)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@attrs.frozen
class Execution:
    """One run of a runbook for an incident, persisted so a restart never forgets it."""

    id: str
    company_id: str
    incident_id: str
    runbook_id: str
    status: ExecutionStatus
    created_at: datetime
    requested_by: str
    approval_id: str | None = None
    executor: str = ""
    command_id: str | None = None
    output: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    health_check_passed: bool | None = None
