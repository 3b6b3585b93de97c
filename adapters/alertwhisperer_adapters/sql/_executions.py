"""Runbook executions in SQL: the ``executions`` table and the core's ``ExecutionRepository``.

Kept apart from the other repositories because remediation came later; the table is declared
on the same :data:`~._schema.metadata`, so the migration test compares it like every other.
``in_flight`` is what a restart reads to fail the executions it cut off, so executions not
yet finished are indexed by status. ``claim`` is one conditional ``UPDATE … WHERE status =
'Pending' RETURNING``: under READ COMMITTED a second claimer waits for the first one's row
lock, then re-checks the condition on the committed row and updates nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Column, Index, Table, Text, select, update

from alertwhisperer_core import Execution, ExecutionStatus
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core.ports import Page

from . import _schema as s
from ._dialects import Dialect
from ._fast import Prepared
from ._queries import after_cursor, param, row_limit
from ._types import Identifier, UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

__all__ = [
    "EXECUTION_COLUMNS",
    "SqlExecutions",
    "execution_from_row",
    "execution_row",
    "executions",
]

_IN_FLIGHT = (ExecutionStatus.PENDING.value, ExecutionStatus.IN_PROGRESS.value)

executions = Table(
    "executions",
    s.metadata,
    Column("id", Identifier, primary_key=True),
    Column("company_id", Identifier, nullable=False),
    Column("incident_id", Identifier, nullable=False),
    Column("runbook_id", Identifier, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("approval_id", Identifier, nullable=True),
    Column("executor", Text, nullable=False),
    Column("command_id", Text, nullable=True),
    Column("output", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("health_check_passed", Boolean, nullable=True),
    Index(None, "status", "created_at"),
    Index(None, "incident_id"),
)

EXECUTION_COLUMNS = tuple(executions.c)
_X = executions.c
_GET = Prepared(select(*EXECUTION_COLUMNS).where(_X.id == param("id")))
_CLAIM = Prepared(
    update(executions)
    .where(_X.id == param("id"), _X.status == ExecutionStatus.PENDING.value)
    .values(
        status=ExecutionStatus.IN_PROGRESS.value,
        started_at=param("started_at", UtcDateTime()),
        executor=param("executor"),
    )
    .returning(*EXECUTION_COLUMNS)
)
_IN_FLIGHT_ROWS = Prepared(
    select(*EXECUTION_COLUMNS).where(_X.status.in_(_IN_FLIGHT)).order_by(_X.created_at, _X.id)
)


def execution_row(execution: Execution) -> dict[str, Any]:
    """Insert parameters of ``execution``."""
    return {
        "id": execution.id,
        "company_id": execution.company_id,
        "incident_id": execution.incident_id,
        "runbook_id": execution.runbook_id,
        "status": execution.status.value,
        "created_at": execution.created_at,
        "requested_by": execution.requested_by,
        "approval_id": execution.approval_id,
        "executor": execution.executor,
        "command_id": execution.command_id,
        "output": execution.output,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "health_check_passed": execution.health_check_passed,
    }


def execution_from_row(row: Sequence[Any]) -> Execution:
    """The execution of a row selected with :data:`EXECUTION_COLUMNS`."""
    values = dict(zip((c.name for c in EXECUTION_COLUMNS), row, strict=True))
    values["status"] = ExecutionStatus(values["status"])
    passed = values["health_check_passed"]
    values["health_check_passed"] = None if passed is None else bool(passed)
    return Execution(**values)


_upserts: dict[str, Prepared] = {}


def _upsert(dialect: Dialect) -> Prepared:
    # One prepared upsert per dialect, built on first use: Dialect itself predates this table.
    if dialect.name not in _upserts:
        _upserts[dialect.name] = Prepared(dialect._upsert(executions, ["id"]))
    return _upserts[dialect.name]


class SqlExecutions:
    """The ``ExecutionRepository`` of one unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def get(self, execution_id: str) -> Execution | None:
        rows = await self.uow.rows(_GET, {"id": execution_id})
        return execution_from_row(rows[0]) if rows else None

    async def add(self, execution: Execution) -> None:
        await self.uow.rows(_upsert(self.uow.dialect), execution_row(execution))

    async def update(self, execution: Execution) -> None:
        await self.uow.rows(_upsert(self.uow.dialect), execution_row(execution))

    async def claim(
        self, execution_id: str, started_at: datetime, executor: str
    ) -> Execution | None:
        params = {"id": execution_id, "started_at": started_at, "executor": executor}
        rows = await self.uow.rows(_CLAIM, params)
        return execution_from_row(rows[0]) if rows else None

    async def in_flight(self) -> builtins.list[Execution]:
        return [execution_from_row(r) for r in await self.uow.rows(_IN_FLIGHT_ROWS)]

    async def for_incident(
        self, incident_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[Execution]:
        where: builtins.list[Any] = [_X.incident_id == incident_id]
        after = after_cursor(cursor, _X.created_at, _X.id)
        if after is not None:
            where.append(after)
        limit = row_limit(limit)
        stmt = (
            select(*EXECUTION_COLUMNS)
            .where(*where)
            .order_by(_X.created_at.desc(), _X.id.desc())
            .limit(limit + 1)
        )
        found = [execution_from_row(r) for r in (await self.uow.execute(stmt)).all()]
        page = found[:limit]
        next_cursor = None
        if len(found) > limit and page:
            next_cursor = encode_cursor(page[-1].created_at.isoformat(), page[-1].id)
        return Page(tuple(page), next_cursor)
