"""Execution repository contract: exact round trips, updates, and what is still in flight."""

from __future__ import annotations

from typing import Any

from alertwhisperer_core import Execution, ExecutionStatus
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import at


def execution(execution_id: str, **kw: Any) -> Execution:
    fields: dict[str, Any] = {
        "id": execution_id,
        "company_id": "acme",
        "incident_id": "inc-1",
        "runbook_id": "rb-1",
        "status": ExecutionStatus.PENDING,
        "created_at": at(0),
        "requested_by": "system",
    }
    fields.update(kw)
    return Execution(**fields)


async def _add(store: UnitOfWorkFactory, *executions: Execution) -> None:
    async with store() as uow:
        for e in executions:
            await uow.executions.add(e)
        await uow.commit()


async def test_a_finished_execution_round_trips_exactly(store: UnitOfWorkFactory) -> None:
    done = execution(
        "ex-1", status=ExecutionStatus.TIMED_OUT, approval_id="ap-1", executor="ssm",
        command_id="0b7a2d3c-1e4f-4a5b-9c8d-7e6f5a4b3c2d", output="still going\n…",
        started_at=at(1, micro=7), finished_at=at(6), health_check_passed=False,
    )  # fmt: skip
    await _add(store, done, execution("ex-2"))
    async with store() as uow:
        assert await uow.executions.get("ex-1") == done
        assert await uow.executions.get("ex-2") == execution("ex-2")
        assert await uow.executions.get("nope") is None


async def test_health_check_passed_keeps_true_false_and_none(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        execution("t", health_check_passed=True),
        execution("f", health_check_passed=False),
        execution("n"),
    )
    async with store() as uow:
        got = [(await uow.executions.get(i)) for i in "tfn"]
    assert [e.health_check_passed for e in got if e is not None] == [True, False, None]


async def test_update_replaces_an_execution(store: UnitOfWorkFactory) -> None:
    await _add(store, execution("ex-1"))
    running = execution("ex-1", status=ExecutionStatus.IN_PROGRESS, started_at=at(1))
    async with store() as uow:
        await uow.executions.update(running)
        await uow.commit()
    async with store() as uow:
        assert await uow.executions.get("ex-1") == running


async def test_in_flight_is_pending_and_in_progress_oldest_first(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        execution("b", created_at=at(2), status=ExecutionStatus.IN_PROGRESS),
        execution("a", created_at=at(2)),
        execution("c", created_at=at(1)),
        *(execution(f"done-{s.value}", status=s) for s in ExecutionStatus if s.terminal),
    )
    async with store() as uow:
        assert [e.id for e in await uow.executions.in_flight()] == ["c", "a", "b"]


async def test_an_uncommitted_execution_is_rolled_back(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.executions.add(execution("ex-1"))
    async with store() as uow:
        assert await uow.executions.get("ex-1") is None


async def test_claim_moves_a_pending_execution_to_in_progress_once(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, execution("ex-1"))
    async with store() as uow:
        claimed = await uow.executions.claim("ex-1", at(3), "ssm")
        again = await uow.executions.claim("ex-1", at(4), "local")
        await uow.commit()
    expected = execution(
        "ex-1", status=ExecutionStatus.IN_PROGRESS, started_at=at(3), executor="ssm"
    )
    assert claimed == expected
    assert again is None
    async with store() as uow:
        assert await uow.executions.get("ex-1") == expected
        assert await uow.executions.claim("ex-1", at(5), "ssm") is None


async def test_claim_takes_nothing_finished_or_absent(store: UnitOfWorkFactory) -> None:
    done = execution("ex-1", status=ExecutionStatus.FAILED, finished_at=at(2))
    await _add(store, done)
    async with store() as uow:
        assert await uow.executions.claim("ex-1", at(3), "ssm") is None
        assert await uow.executions.claim("nope", at(3), "ssm") is None
        await uow.commit()
    async with store() as uow:
        assert await uow.executions.get("ex-1") == done
        assert await uow.executions.get("nope") is None


async def test_a_rolled_back_claim_leaves_the_execution_pending(store: UnitOfWorkFactory) -> None:
    await _add(store, execution("ex-1"))
    async with store() as uow:
        assert await uow.executions.claim("ex-1", at(3), "ssm") is not None
    async with store() as uow:
        assert await uow.executions.get("ex-1") == execution("ex-1")
