"""The patch-compliance cache in SQL: ``patch_states`` and ``compliance_syncs``, and the core's
``ComplianceRepository``.

Kept apart from the other repositories because compliance came later; the tables are declared
on the same :data:`~._schema.metadata`, so the migration test compares them like every other.
A sync replaces a company's whole cache: its rows are deleted and the new ones inserted in the
unit of work's transaction, so readers see the old cache or the new one, never a mix.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, Table, Text, delete, insert, select

from alertwhisperer_core import InstancePatchState

from . import _schema as s
from ._dialects import Dialect
from ._fast import Prepared
from ._queries import param
from ._types import Identifier, UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

__all__ = ["SqlCompliance", "compliance_syncs", "patch_states"]

patch_states = Table(
    "patch_states",
    s.metadata,
    Column("company_id", Identifier, primary_key=True),
    Column("instance_id", Identifier, primary_key=True),
    Column("environment", Text, nullable=False),
    Column("installed", Integer, nullable=False),
    Column("missing", Integer, nullable=False),
    Column("critical_missing", Integer, nullable=False),
    Column("security_missing", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("last_operation_at", UtcDateTime, nullable=True),
)

compliance_syncs = Table(
    "compliance_syncs",
    s.metadata,
    Column("company_id", Identifier, primary_key=True),
    Column("synced_at", UtcDateTime, nullable=False),
)

_P = patch_states.c
_STATE_COLUMNS = tuple(c for c in patch_states.c if c.name != "company_id")
_STATES = Prepared(
    select(*_STATE_COLUMNS).where(_P.company_id == param("company_id")).order_by(_P.instance_id)
)
_FORGET = Prepared(delete(patch_states).where(_P.company_id == param("company_id")))
_INSERT = Prepared(insert(patch_states))
_SYNCED = Prepared(
    select(compliance_syncs.c.synced_at).where(compliance_syncs.c.company_id == param("company_id"))
)

_upserts: dict[str, Prepared] = {}


def _upsert_sync(dialect: Dialect) -> Prepared:
    # One prepared upsert per dialect, built on first use: Dialect itself predates this table.
    if dialect.name not in _upserts:
        _upserts[dialect.name] = Prepared(dialect._upsert(compliance_syncs, ["company_id"]))
    return _upserts[dialect.name]


def _row(company_id: str, state: InstancePatchState) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "instance_id": state.instance_id,
        "environment": state.environment,
        "installed": state.installed,
        "missing": state.missing,
        "critical_missing": state.critical_missing,
        "security_missing": state.security_missing,
        "failed": state.failed,
        "last_operation_at": state.last_operation_at,
    }


def _state(row: Sequence[Any]) -> InstancePatchState:
    return InstancePatchState(**dict(zip((c.name for c in _STATE_COLUMNS), row, strict=True)))


class SqlCompliance:
    """The ``ComplianceRepository`` of one unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def replace(
        self, company_id: str, states: Sequence[InstancePatchState], synced_at: datetime
    ) -> None:
        await self.uow.rows(_FORGET, {"company_id": company_id})
        await self.uow.run_many(_INSERT, [_row(company_id, state) for state in states])
        await self.uow.rows(
            _upsert_sync(self.uow.dialect), {"company_id": company_id, "synced_at": synced_at}
        )

    async def states(self, company_id: str) -> builtins.list[InstancePatchState]:
        return [_state(r) for r in await self.uow.rows(_STATES, {"company_id": company_id})]

    async def last_synced(self, company_id: str) -> datetime | None:
        rows = await self.uow.rows(_SYNCED, {"company_id": company_id})
        return rows[0][0] if rows else None
