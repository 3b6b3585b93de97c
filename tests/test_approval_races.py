"""Approval decisions are exactly-once when OS processes race on PostgreSQL and MongoDB.

- Decisions: one process approves every pending request while another rejects them all. Each
  decision is one conditional write on the request's status, so each request ends decided by
  exactly one of them, with one audit entry; the other gets a 409 and writes nothing.
- Execute: two processes call ``execute`` for the same approved requests. Each approved
  request is consumed (``approved → executing``) by exactly one call, which creates the one
  execution; the other call gets a 409 and creates nothing.

PostgreSQL's READ COMMITTED lets two read-modify-writes read one pending row and both write:
without the conditional write both decisions (and both executions) succeed.
Uses the multi-process harness of ``tests/test_update_races.py``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import attrs

from alertwhisperer_core import (
    ApprovalStatus,
    Conflict,
    Execution,
    IncidentStatus,
    Risk,
    Role,
    Runbook,
    User,
)
from alertwhisperer_core.ports import AuditQuery
from alertwhisperer_core.service import decide_approval, execute_runbook

from .contract.records import approval, incident
from .support import storm_processes
from .test_update_races import _as_a_client, _open, _spawn, backend

__all__ = ["backend"]  # the fixture, shared with the update races

NOW = storm_processes.NOW
REQUESTS = 30
DECIDERS = {
    "approve": User(id="admin-a", email="a@example.test", name="A", role=Role.MSP_ADMIN),
    "reject": User(id="admin-b", email="b@example.test", name="B", role=Role.MSP_ADMIN),
}
TECH = User(
    id="tech", email="t@example.test", name="T", role=Role.TECHNICIAN,
    company_ids=frozenset({"c0"}),
)  # fmt: skip


async def _seed(store: Any, status: ApprovalStatus) -> list[str]:
    """``REQUESTS`` open incidents of company c0, each with one medium-risk request of rb-1."""
    ids = [f"ap-{n:03d}" for n in range(REQUESTS)]
    await storm_processes.add_companies(store)
    async with store() as uow:
        await uow.runbooks.add(
            Runbook(
                id="rb-1", name="Restart", signature="cpu_high", risk=Risk.MEDIUM, actions=("true",)
            )
        )
        for n, approval_id in enumerate(ids):
            asset = f"c0-web-{n:03d}"
            await uow.incidents.add(
                incident(
                    f"inc-{n:03d}",
                    "c0",
                    key=f"{asset}|cpu_high",
                    asset_name=asset,
                    signature="cpu_high",
                    status=IncidentStatus.NEW,
                )
            )
            request = approval(
                approval_id, "c0", incident_id=f"inc-{n:03d}", requested_by=TECH.id,
                created_at=NOW - timedelta(minutes=1), expires_at=NOW + timedelta(minutes=59),
            )  # fmt: skip
            if status is ApprovalStatus.APPROVED:
                request = attrs.evolve(request, status=status, decided_by="admin-a", decided_at=NOW)
            await uow.approvals.add(request)
        await uow.commit()
    return ids


# --- decisions --------------------------------------------------------------------------------


def _decide_worker(
    kind: str, url: str, database: str | None, decision: str, ids: list[str], start: Any, out: Any
) -> None:
    async def run() -> list[str]:
        store = await _open(kind, url, database)
        won: list[str] = []
        try:
            services = storm_processes.services(store)
            start.wait()
            for approval_id in ids:

                async def attempt(i: str = approval_id) -> None:
                    try:
                        await decide_approval(
                            services, DECIDERS[decision], i, approve=decision == "approve"
                        )
                        won.append(i)
                    except Conflict:
                        pass  # the other process decided first

                await _as_a_client(attempt)
        finally:
            await store.close()
        return won

    try:
        out.put(("ok", (decision, asyncio.run(run()))))
    except BaseException as error:  # pragma: no cover - reported by the parent
        out.put(("error", repr(error)))


async def test_racing_approve_and_reject_decide_each_request_exactly_once(
    backend: tuple[str, str, str | None],
) -> None:
    kind, url, database = backend
    store = await _open(kind, url, database)
    try:
        ids = await _seed(store, ApprovalStatus.PENDING)
        jobs = [(kind, url, database, decision, ids) for decision in ("approve", "reject")]
        # Outcomes come in the order the processes finish.
        won = dict(outcome for _, outcome in _spawn(_decide_worker, jobs))
        approved, rejected = won["approve"], won["reject"]
        async with store() as uow:
            final = {i: await uow.approvals.get(i) for i in ids}
            granted = await uow.audit.list(AuditQuery(action="approval_granted", limit=500))
            denied = await uow.audit.list(AuditQuery(action="approval_denied", limit=500))
    finally:
        await store.close()

    assert not set(approved) & set(rejected), "a request was decided by both processes"
    assert set(approved) | set(rejected) == set(ids)
    for i in approved:
        assert final[i] is not None
        assert (final[i].status, final[i].decided_by) == (ApprovalStatus.APPROVED, "admin-a")
    for i in rejected:
        assert final[i] is not None
        assert (final[i].status, final[i].decided_by) == (ApprovalStatus.REJECTED, "admin-b")
    assert sorted(e.details["approval_id"] for e in granted.items) == sorted(approved)
    assert sorted(e.details["approval_id"] for e in denied.items) == sorted(rejected)


# --- execute ----------------------------------------------------------------------------------


def _execute_worker(
    kind: str, url: str, database: str | None, ids: list[str], start: Any, out: Any
) -> None:
    async def run() -> list[str]:
        store = await _open(kind, url, database)
        won: list[str] = []
        try:
            services = storm_processes.services(store)
            start.wait()
            for n in range(len(ids)):

                async def attempt(incident_id: str = f"inc-{n:03d}") -> None:
                    try:
                        result = await execute_runbook(services, TECH, incident_id, "rb-1")
                    except Conflict:
                        return  # the other process started the run
                    assert isinstance(result, Execution), result
                    assert result.approval_id is not None
                    won.append(result.approval_id)

                await _as_a_client(attempt)
        finally:
            await store.close()
        return won

    try:
        out.put(("ok", asyncio.run(run())))
    except BaseException as error:  # pragma: no cover - reported by the parent
        out.put(("error", repr(error)))


async def test_racing_executes_consume_each_approved_request_exactly_once(
    backend: tuple[str, str, str | None],
) -> None:
    kind, url, database = backend
    store = await _open(kind, url, database)
    try:
        ids = await _seed(store, ApprovalStatus.APPROVED)
        (_, first), (_, second) = _spawn(_execute_worker, [(kind, url, database, ids)] * 2)
        async with store() as uow:
            final = [await uow.approvals.get(i) for i in ids]
            executions = [
                e
                for n in range(REQUESTS)
                for e in (await uow.executions.for_incident(f"inc-{n:03d}", limit=500)).items
            ]
            requested = await uow.audit.list(AuditQuery(action="approval_requested", limit=500))
    finally:
        await store.close()

    assert not set(first) & set(second), "an approved request was consumed by both processes"
    assert set(first) | set(second) == set(ids)
    assert sorted(e.approval_id or "" for e in executions) == ids, "one request ran twice"
    assert all(a is not None and a.status is ApprovalStatus.EXECUTING for a in final)
    assert not requested.items, "a losing call asked for a new approval"
