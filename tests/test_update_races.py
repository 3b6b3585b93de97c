"""No update is lost and no execution runs twice when OS processes race on PostgreSQL and MongoDB.

- Incidents: processes add notes, reassign and ingest alerts into one incident at the same
  time. Every change reads the incident under its key's lock (the ingest path's), so the end
  state holds every note, every alert and every assignment (PostgreSQL's READ COMMITTED alone
  lets two read-modify-writes read one row, and the later write drops the earlier).
- Executions: two processes run the same pending executions; the claim is one conditional
  write, so each execution is claimed (and run) by exactly one of them, the other gets a 409.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from alertwhisperer_core import (
    CommandResult,
    Conflict,
    ExecutionStatus,
    Risk,
    Role,
    Runbook,
    User,
)
from alertwhisperer_core.ports import AuditQuery, TransientConflict
from alertwhisperer_core.service import (
    IncidentChanges,
    NewNote,
    add_incident_note,
    run_execution,
    update_incident,
)

from .conftest import service_url
from .contract._databases import mongo_database, postgres_schema
from .contract.test_executions import execution
from .support import storm_processes

START = storm_processes.START
ROUNDS = 12
ADMIN = User(id="admin", email="admin@example.test", name="Admin", role=Role.MSP_ADMIN)
TECHS = ("tech-a", "tech-b")
ASSET = "c0-web-01"


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mongo", marks=pytest.mark.mongo),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str | None]]:
    if request.param == "postgres":
        with postgres_schema(service_url("AW_TEST_POSTGRES_URL")) as url:
            yield "postgres", url, None
    else:
        url = service_url("AW_TEST_MONGO_URL")
        with mongo_database(url) as database:
            yield "mongo", url, database


async def _open(kind: str, url: str, database: str | None) -> Any:
    if kind == "postgres":
        from alertwhisperer_adapters.sql import open_sql_store

        return await open_sql_store(url, upgrade=False)
    from alertwhisperer_adapters.mongo import open_mongo_store

    return await open_mongo_store(url, database=database)


def _delivery(n: int) -> storm_processes.Delivery:
    """One firing alert of ``ASSET``'s ``cpu_high``, ``n`` seconds after the storm's start."""
    alert = {
        "status": "firing",
        "startsAt": (START + timedelta(seconds=n)).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "labels": {"alertname": "cpu_high", "instance": f"{ASSET}:9100", "severity": "high"},
        "annotations": {"summary": f"cpu high on {ASSET}"},
        "fingerprint": f"{n:016x}",
    }
    body = json.dumps({"version": "4", "groupKey": f"g-{n}", "alerts": [alert]}).encode()
    return 0, body, {"x-delivery-id": f"d-{n}"}


async def _as_a_client(call: Any) -> None:
    """A request that lost every retry of a race answers 503; a client sends it again."""
    for _ in range(30):
        try:
            await call()
            return
        except TransientConflict:
            continue
    raise AssertionError("a request kept losing races")


def _spawn(target: Any, jobs: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    """Run ``target(*job, start, results)`` in one process per job, started together."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(jobs)), context.Queue()
    workers = [context.Process(target=target, args=(*job, start, results)) for job in jobs]
    for worker in workers:
        worker.start()
    outcomes: list[tuple[str, Any]] = []
    try:
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30 if len(outcomes) == len(workers) else 0)
            if worker.is_alive():  # pragma: no cover - only when the test already failed
                worker.terminate()
                worker.join()
    assert [kind for kind, _ in outcomes] == ["ok"] * len(workers), outcomes
    return outcomes


@asynccontextmanager
async def _worker_services(
    kind: str, url: str, database: str | None, start: Any
) -> AsyncIterator[Any]:
    """In a worker process: services on its own store, once every worker is ready to go."""
    store = await _open(kind, url, database)
    try:
        services = storm_processes.services(store)
        start.wait()
        yield services
    finally:
        await store.close()


def _report(out: Any, run: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run ``run()`` in this worker process; put ("ok", its result) or ("error", ...) on ``out``."""
    try:
        out.put(("ok", asyncio.run(run())))
    except BaseException as error:  # pragma: no cover - reported by the parent
        out.put(("error", repr(error)))


# --- incidents --------------------------------------------------------------------------------


def _incident_worker(
    kind: str, url: str, database: str | None, role: str, incident_id: str, start: Any, out: Any
) -> None:
    async def run() -> str:
        async with _worker_services(kind, url, database, start) as services:
            for i in range(ROUNDS):
                if role == "alerts":
                    await storm_processes.send(services, _delivery(i + 1), attempts=30)
                elif role.startswith("assign:"):
                    order = role.removeprefix("assign:").split(",")
                    changes = IncidentChanges(assigned_to=order[i % 2])
                    await _as_a_client(
                        lambda c=changes: update_incident(services, ADMIN, incident_id, c)
                    )
                else:
                    note = NewNote(text=f"{role}-{i}")
                    await _as_a_client(
                        lambda n=note: add_incident_note(services, ADMIN, incident_id, n)
                    )
        return role

    _report(out, run)


async def test_concurrent_notes_assignments_and_alerts_lose_nothing(
    backend: tuple[str, str, str | None],
) -> None:
    kind, url, database = backend
    store = await _open(kind, url, database)
    try:
        await storm_processes.add_companies(store)
        async with store() as uow:
            for tech in TECHS:
                await uow.users.add(
                    User(
                        id=tech,
                        email=f"{tech}@example.test",
                        name=tech,
                        role=Role.TECHNICIAN,
                        company_ids=frozenset({"c0"}),
                    )
                )
            await uow.commit()
        services = storm_processes.services(store)
        await storm_processes.send(services, _delivery(0))
        async with store() as uow:
            (incident,) = await uow.incidents.all_in_period(None, None, None)

        # Each round switches technician, starting with the one routing did not pick.
        order = sorted(TECHS, key=lambda t: t == incident.assigned_to)
        roles = ["notes-1", "notes-2", "alerts", f"assign:{','.join(order)}"]
        _spawn(_incident_worker, [(kind, url, database, role, incident.id) for role in roles])

        async with store() as uow:
            final = await uow.incidents.get(incident.id)
            alert_ids = await uow.alerts.ids_for_incident(incident.id)
            audit = await uow.audit.list(AuditQuery(action="incident_assigned", limit=500))
    finally:
        await store.close()

    assert final is not None
    expected_notes = {f"notes-{p}-{i}" for p in (1, 2) for i in range(ROUNDS)}
    assert sorted(n.text for n in final.notes) == sorted(expected_notes), "a note was lost"
    assert final.alert_count == ROUNDS + 1 == len(alert_ids), "an appended alert was lost"
    assigned = [t for t in final.timeline if t.kind == "assigned"]
    # One assignment by routing, then one per round.
    assert incident.assigned_to in TECHS
    assert len(assigned) == len(audit.items) == ROUNDS + 1, "an assignment was lost"
    assert final.assigned_to == order[(ROUNDS - 1) % 2]


# --- executions -------------------------------------------------------------------------------

EXECUTIONS = 40


class _Succeeds:
    name = "test"

    async def run(
        self, *, instance_id: str | None, commands: Any, timeout_seconds: int
    ) -> CommandResult:
        return CommandResult(status=ExecutionStatus.SUCCESS, command_id="cmd", output="ok")


def _claim_worker(
    kind: str, url: str, database: str | None, ids: list[str], start: Any, out: Any
) -> None:
    async def run() -> list[str]:
        won: list[str] = []
        async with _worker_services(kind, url, database, start) as services:
            for execution_id in ids:

                async def attempt(i: str = execution_id) -> None:
                    try:
                        await run_execution(services, _Succeeds(), i)
                        won.append(i)
                    except Conflict:
                        pass  # the other process has it

                await _as_a_client(attempt)
        return won

    _report(out, run)


async def test_two_processes_racing_for_executions_run_each_exactly_once(
    backend: tuple[str, str, str | None],
) -> None:
    kind, url, database = backend
    ids = [f"ex-{n:03d}" for n in range(EXECUTIONS)]
    store = await _open(kind, url, database)
    try:
        async with store() as uow:
            await uow.runbooks.add(
                Runbook(
                    id="rb-1",
                    name="Restart",
                    signature="cpu_high",
                    risk=Risk.LOW,
                    actions=("true",),
                )
            )
            for execution_id in ids:
                await uow.executions.add(execution(execution_id, company_id="c0"))
            await uow.commit()

        outcomes = _spawn(_claim_worker, [(kind, url, database, ids), (kind, url, database, ids)])

        async with store() as uow:
            finished = [await uow.executions.get(i) for i in ids]
            audit = await uow.audit.list(AuditQuery(action="runbook_executed", limit=500))
    finally:
        await store.close()

    first, second = (set(won) for _, won in outcomes)
    assert not first & second, "an execution was claimed by both processes"
    assert first | second == set(ids)
    assert all(e is not None and e.status is ExecutionStatus.SUCCESS for e in finished)
    assert sorted(e.details["execution_id"] for e in audit.items) == ids, "one ran twice"
