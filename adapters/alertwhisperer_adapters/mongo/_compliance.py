"""The patch-compliance cache in MongoDB: the core's ``ComplianceRepository``.

Kept apart from the other repositories because compliance came later. One document per
company holds its last sync time and every instance state, so a sync replaces the whole cache
in one write and a reader sees the old cache or the new one, never a mix. (A state takes
about 200 bytes: MongoDB's 16 MB document limit is tens of thousands of instances per company.)
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import IndexModel

from alertwhisperer_core import InstancePatchState

from ._codec import Doc, from_micros, micros

if TYPE_CHECKING:
    from ._uow import MongoUnitOfWork

__all__ = ["COMPLIANCE", "COMPLIANCE_INDEXES", "MongoCompliance"]

COMPLIANCE = "compliance"
COMPLIANCE_INDEXES: list[IndexModel] = []  # read by ``_id`` (the company id) only


def _state_doc(state: InstancePatchState) -> Doc:
    at = state.last_operation_at
    return {
        "instance_id": state.instance_id,
        "environment": state.environment,
        "installed": state.installed,
        "missing": state.missing,
        "critical_missing": state.critical_missing,
        "security_missing": state.security_missing,
        "failed": state.failed,
        "last_operation_at": None if at is None else micros(at),
    }


def _state(doc: dict[str, Any]) -> InstancePatchState:
    at = doc["last_operation_at"]
    return InstancePatchState(
        instance_id=doc["instance_id"],
        environment=doc["environment"],
        installed=doc["installed"],
        missing=doc["missing"],
        critical_missing=doc["critical_missing"],
        security_missing=doc["security_missing"],
        failed=doc["failed"],
        last_operation_at=None if at is None else from_micros(at),
    )


class MongoCompliance:
    """The ``ComplianceRepository`` of one unit of work."""

    def __init__(self, uow: MongoUnitOfWork) -> None:
        self.uow = uow

    async def replace(
        self, company_id: str, states: Sequence[InstancePatchState], synced_at: datetime
    ) -> None:
        ordered = sorted(states, key=lambda state: state.instance_id)
        doc: Doc = {
            "_id": company_id,
            "synced_at": micros(synced_at),
            "states": [_state_doc(state) for state in ordered],
        }
        coll = self.uow.collection(COMPLIANCE)
        await self.uow.write(coll.replace_one, {"_id": company_id}, doc, upsert=True)

    async def states(self, company_id: str) -> builtins.list[InstancePatchState]:
        doc = await self.uow.find_one(COMPLIANCE, {"_id": company_id})
        return [] if doc is None else [_state(d) for d in doc["states"]]

    async def last_synced(self, company_id: str) -> datetime | None:
        doc = await self.uow.find_one(COMPLIANCE, {"_id": company_id})
        return None if doc is None else from_micros(doc["synced_at"])
