"""The in-memory unit of work: all or nothing, serial, and undo restores exactly."""

from __future__ import annotations

import asyncio

import pytest

from alertwhisperer_core import AuditEntry, Company, DeliveryRecord
from alertwhisperer_core.memory import InMemoryStore
from alertwhisperer_core.ports import DuplicateDelivery

from .support.world import T0, minutes


def company(company_id: str, name: str = "Acme") -> Company:
    return Company(id=company_id, name=name, created_at=T0)


async def test_leaving_without_commit_rolls_every_write_back() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.companies.add(company("c1"))
        await uow.companies.set_hmac_secrets("c1", ["s"])
        await uow.audit.append(
            AuditEntry(id="a1", timestamp=T0, user_id=None, user_name="x", action="config_changed")
        )
    assert store.companies == {}
    assert store.hmac == {}
    assert store.audit == []


async def test_an_exception_inside_the_block_rolls_back_after_partial_writes() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.companies.add(company("keep"))
        await uow.commit()

    async def failing_transaction() -> None:
        async with store() as uow:
            await uow.companies.update(company("keep", "Renamed"))
            await uow.companies.delete("keep")
            await uow.companies.add(company("new"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing_transaction()
    assert store.companies == {"keep": company("keep")}


async def test_committed_writes_survive_the_block() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.companies.add(company("c1"))
        await uow.commit()
    assert list(store.companies) == ["c1"]


async def test_duplicate_delivery_is_refused_and_a_rolled_back_one_is_forgotten() -> None:
    store = InMemoryStore()
    record = DeliveryRecord(
        delivery_id="d", company_id="c", alert_ids=("a",), incident_ids=(), first_seen_at=T0
    )
    async with store() as uow:
        await uow.deliveries.add(record, T0 + minutes(60))
        with pytest.raises(DuplicateDelivery):
            await uow.deliveries.add(record, T0 + minutes(60))
    # Not committed: the id is free again.
    async with store() as uow:
        assert await uow.deliveries.get("c", "d", T0) is None
        await uow.deliveries.add(record, T0 + minutes(60))
        await uow.commit()
    async with store() as uow:
        assert await uow.deliveries.get("c", "d", T0) == record
        assert await uow.deliveries.get("c", "d", T0 + minutes(61)) is None


async def test_units_of_work_run_one_at_a_time() -> None:
    store = InMemoryStore()
    inside = 0
    most = 0

    async def worker() -> None:
        nonlocal inside, most
        async with store():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(worker() for _ in range(5)))
    assert most == 1
