"""Exactness under concurrency on PostgreSQL: key locks, unique delivery ids, and eight OS
processes ingesting one interleaved storm into one database.

The storm fires only (no recoveries): without recoveries, and within ``max_span``, the
partition of alerts into incidents does not depend on arrival order (see
``alertwhisperer_core._correlation``), so the concurrent result must equal one process's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest

from alertwhisperer_adapters.sql import SqlStore, open_sql_store
from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.memory import (
    InMemoryStore,
)
from alertwhisperer_core.ports import (
    DuplicateDelivery,
    TransientConflict,
)

from .conftest import service_url
from .contract._databases import postgres_schema
from .support import storm_processes

pytestmark = pytest.mark.postgres

PROCESSES = storm_processes.PROCESSES
START = storm_processes.START
NOW = storm_processes.NOW
Delivery = storm_processes.Delivery


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL")) as url:
        yield url


# --- key locks and delivery ids, two units of work at a time -------------------------------


async def _waits_for(store: SqlStore, holder_key: str, waiter_key: str) -> bool:
    """Whether reading ``waiter_key`` under its lock waits while another unit of work holds
    ``holder_key``'s lock (a lock is sent with the next statement, so each side reads)."""
    got_it = asyncio.Event()

    async def waiter() -> None:
        async with store() as uow:
            await uow.incidents.lock_key("acme", waiter_key)
            await uow.incidents.open_for_key("acme", waiter_key)
            got_it.set()
            await uow.commit()

    async with store() as holder:
        await holder.incidents.lock_key("acme", holder_key)
        await holder.incidents.open_for_key("acme", holder_key)
        task = asyncio.create_task(waiter())
        try:
            await asyncio.wait_for(got_it.wait(), 2.0)
            waited = False
        except TimeoutError:
            waited = True
        await holder.commit()
    await asyncio.wait_for(task, 5)
    return waited


async def test_a_locked_key_makes_a_second_unit_of_work_wait(postgres_url: str) -> None:
    store = await open_sql_store(postgres_url)
    try:
        assert await _waits_for(store, "web-01|cpu", "web-01|cpu") is True
    finally:
        await store.close()


async def test_different_keys_do_not_wait_for_each_other(postgres_url: str) -> None:
    store = await open_sql_store(postgres_url)
    try:
        assert await _waits_for(store, "web-01|cpu", "web-02|cpu") is False
    finally:
        await store.close()


async def test_racing_deliveries_with_one_id_store_exactly_one(postgres_url: str) -> None:
    store = await open_sql_store(postgres_url)
    record = DeliveryRecord(delivery_id="d-1", company_id="acme", alert_ids=(),
                            incident_ids=(), first_seen_at=START)  # fmt: skip
    first_added = asyncio.Event()
    outcomes: list[str] = []

    async def second() -> None:
        await first_added.wait()
        async with store() as uow:
            try:
                await uow.deliveries.add(record, NOW)
                await uow.commit()
                outcomes.append("stored")
            except DuplicateDelivery:
                outcomes.append("duplicate")

    try:
        task = asyncio.create_task(second())
        async with store() as uow:
            await uow.deliveries.add(record, NOW)
            first_added.set()
            await asyncio.sleep(0.2)  # the second insert now waits on the unique key
            await uow.commit()
        await asyncio.wait_for(task, 5)
    finally:
        await store.close()
    assert outcomes == ["duplicate"]


async def test_a_deadlock_between_key_locks_is_a_transient_conflict(postgres_url: str) -> None:
    store = await open_sql_store(postgres_url)
    both_hold_one = asyncio.Barrier(2)
    outcomes: list[str] = []

    async def lock(first: str, second: str) -> None:
        try:
            async with store() as uow:
                await uow.incidents.lock_key("acme", first)
                await uow.incidents.open_for_key("acme", first)
                await both_hold_one.wait()
                await uow.incidents.lock_key("acme", second)
                await uow.incidents.open_for_key("acme", second)
                await uow.commit()
            outcomes.append("committed")
        except TransientConflict:
            outcomes.append("conflict")

    try:
        await asyncio.wait_for(asyncio.gather(lock("a", "b"), lock("b", "a")), 30)
    finally:
        await store.close()
    assert sorted(outcomes) == ["committed", "conflict"]


def _held_key_locks(url: str, *keys: str) -> set[str]:
    """Which of ``keys`` (company "acme") someone holds an advisory lock on right now."""
    import psycopg
    from sqlalchemy.engine import make_url

    from alertwhisperer_adapters.sql._dialects import key_lock_id

    ids = {key_lock_id("acme", key) & 0xFFFF_FFFF_FFFF_FFFF: key for key in keys}
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        rows = conn.execute(
            "SELECT classid::bigint, objid::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        ).fetchall()
    held = {(high << 32) | low for high, low in rows}
    return {key for lock_id, key in ids.items() if lock_id in held}


async def test_key_locks_are_taken_in_the_order_requested(postgres_url: str) -> None:
    """Reading the first key takes its lock only; the second waits for the next statement.

    Locks taken out of request order (the second before the first) could deadlock two
    units of work that requested the same keys in the same order.
    """
    store = await open_sql_store(postgres_url)
    try:
        async with store() as uow:
            await uow.incidents.lock_key("acme", "a")
            await uow.incidents.lock_key("acme", "b")
            assert _held_key_locks(postgres_url, "a", "b") == set()
            await uow.incidents.open_for_key("acme", "a")
            assert _held_key_locks(postgres_url, "a", "b") == {"a"}
            await uow.incidents.open_for_key("acme", "b")
            assert _held_key_locks(postgres_url, "a", "b") == {"a", "b"}
            await uow.commit()
        assert _held_key_locks(postgres_url, "a", "b") == set()
    finally:
        await store.close()


async def test_reading_a_later_key_first_takes_the_earlier_lock_first(postgres_url: str) -> None:
    store = await open_sql_store(postgres_url)
    try:
        async with store() as uow:
            await uow.incidents.lock_key("acme", "a")
            await uow.incidents.lock_key("acme", "b")
            await uow.incidents.lock_key("acme", "c")
            await uow.incidents.open_for_key("acme", "b")
            assert _held_key_locks(postgres_url, "a", "b", "c") == {"a", "b"}
            await uow.commit()
    finally:
        await store.close()


# --- eight processes, one storm --------------------------------------------------------------


def _worker(url: str, share: list[Delivery], start: Any, results: Any) -> None:
    async def run() -> int:
        store = await open_sql_store(url, upgrade=False)
        try:
            services = storm_processes.services(store)
            start.wait()
            return sum([await storm_processes.send(services, delivery) for delivery in share])
        finally:
            await store.close()

    try:
        results.put(("ok", asyncio.run(run())))
    except BaseException as error:  # pragma: no cover - reported by the parent
        results.put(("error", repr(error)))


async def test_eight_processes_store_one_storm_exactly_as_one_process(postgres_url: str) -> None:
    storm = storm_processes.storm(800)
    store = await open_sql_store(postgres_url)
    try:
        await storm_processes.add_companies(store)
    finally:
        await store.close()

    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_worker, args=(postgres_url, share, start, results))
               for share in storm_processes.deal(storm)]  # fmt: skip
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert [kind for kind, _ in outcomes] == ["ok"] * PROCESSES, outcomes

    reference = InMemoryStore()
    await storm_processes.add_companies(reference)
    services = storm_processes.services(reference)
    for delivery in storm:
        await storm_processes.send(services, delivery)

    store = await open_sql_store(postgres_url)
    try:
        stored, partition = await storm_processes.partition(store)
        async with store() as uow:
            from sqlalchemy import func, select

            from alertwhisperer_adapters.sql._schema import deliveries

            delivery_rows = await uow.execute(select(func.count()).select_from(deliveries))
            delivery_count = delivery_rows.scalar_one()
    finally:
        await store.close()
    expected, expected_partition = await storm_processes.partition(reference)

    unique_deliveries = {(c, h["x-delivery-id"]) for c, _, h in storm}
    assert len(stored) == len(set(stored)), "an alert was stored twice"
    assert set(stored) == set(expected), "an alert was lost (or invented)"
    assert delivery_count == len(unique_deliveries)
    assert partition == expected_partition
