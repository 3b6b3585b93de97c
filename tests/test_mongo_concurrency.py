"""Exactness under concurrency on MongoDB: key locks as write conflicts, unique delivery ids,
and eight OS processes ingesting one interleaved storm into one database.

The storm fires only (no recoveries): without recoveries, and within ``max_span``, the
partition of alerts into incidents does not depend on arrival order (see
``alertwhisperer_core._correlation``), so the concurrent result must equal one process's.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest

from alertwhisperer_adapters.mongo import MongoStore, MongoUnitOfWork, open_mongo_store
from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.memory import (
    InMemoryStore,
)
from alertwhisperer_core.ports import (
    DuplicateDelivery,
    TransientConflict,
)
from alertwhisperer_core.service import WebhookRequest, ingest_webhook

from .conftest import service_url
from .contract._databases import mongo_database
from .contract.records import alert, company
from .support import storm_processes

pytestmark = pytest.mark.mongo

PROCESSES = storm_processes.PROCESSES
START = storm_processes.START
NOW = storm_processes.NOW
KEY = "web-01|cpu"
Delivery = storm_processes.Delivery


@pytest.fixture
def mongo_url() -> str:
    return service_url("AW_TEST_MONGO_URL")


@pytest.fixture
def database(mongo_url: str) -> Iterator[str]:
    with mongo_database(mongo_url) as name:
        yield name


@pytest.fixture
async def store(mongo_url: str, database: str) -> AsyncIterator[MongoStore]:
    opened = await open_mongo_store(mongo_url, database=database)
    try:
        yield opened
    finally:
        await opened.close()


# --- key locks and delivery ids, two units of work at a time -------------------------------


async def _second_lock_conflicts(store: MongoStore, holder_key: str, other_key: str) -> bool:
    """Whether locking ``other_key`` fails while another unit of work holds ``holder_key``."""
    async with store() as holder:
        await holder.incidents.lock_key("acme", holder_key)
        try:
            async with store() as other:
                await other.incidents.lock_key("acme", other_key)
                await other.commit()
        except TransientConflict:
            return True
        finally:
            await holder.commit()
    return False


async def test_a_locked_key_makes_a_second_unit_of_work_conflict(store: MongoStore) -> None:
    assert await _second_lock_conflicts(store, KEY, KEY) is True


async def test_different_keys_do_not_conflict(store: MongoStore) -> None:
    assert await _second_lock_conflicts(store, KEY, "web-02|cpu") is False


async def test_the_same_key_of_another_company_does_not_conflict(store: MongoStore) -> None:
    async with store() as holder:
        await holder.incidents.lock_key("acme", KEY)
        async with store() as other:
            await other.incidents.lock_key("globex", KEY)
            await other.commit()
        await holder.commit()


async def test_a_key_released_by_commit_can_be_locked_again(store: MongoStore) -> None:
    async with store() as first:
        await first.incidents.lock_key("acme", KEY)
        await first.commit()
    async with store() as second:
        await second.incidents.lock_key("acme", KEY)
        await second.commit()


async def test_a_key_changed_since_the_snapshot_conflicts(store: MongoStore) -> None:
    async with store() as late:
        await late.incidents.lock_key("acme", "other|key")  # its snapshot is taken here
        async with store() as early:
            await early.incidents.lock_key("acme", KEY)
            await early.commit()
        with pytest.raises(TransientConflict):
            await late.incidents.lock_key("acme", KEY)


async def _write_then_lock(store: MongoStore) -> None:
    async with store() as uow:
        await uow.companies.add(company("lost"))
        await uow.alerts.add(alert("a-lost"), None)
        await uow.incidents.lock_key("acme", KEY)
        await uow.commit()


async def test_a_conflicting_unit_of_work_leaves_nothing_behind(store: MongoStore) -> None:
    async with store() as holder:
        await holder.incidents.lock_key("acme", KEY)
        with pytest.raises(TransientConflict):
            await _write_then_lock(store)
        await holder.commit()
    async with store() as uow:
        assert await uow.companies.get("lost") is None
        assert await uow.alerts.get("a-lost") is None


async def _add_delivery(store: MongoStore, record: DeliveryRecord) -> None:
    async with store() as uow:
        await uow.deliveries.add(record, NOW)
        await uow.commit()


async def test_racing_deliveries_with_one_id_store_exactly_one(store: MongoStore) -> None:
    record = DeliveryRecord(delivery_id="d-1", company_id="acme", alert_ids=("a-1",),
                            incident_ids=(), first_seen_at=START)  # fmt: skip
    async with store() as first:
        await first.deliveries.add(record, NOW)
        # The second, while the first is open: it cannot wait, so it must run again.
        with pytest.raises(TransientConflict):
            await _add_delivery(store, record)
        await first.commit()
    with pytest.raises(DuplicateDelivery):
        await _add_delivery(store, attrs.evolve(record, alert_ids=("a-2",)))
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", START) == record


async def test_ingest_runs_a_unit_of_work_again_after_losing_a_key_race(
    store: MongoStore,
) -> None:
    await storm_processes.add_companies(store)
    lost = asyncio.Event()

    class Watched(MongoUnitOfWork):
        async def __aexit__(self, *exc_info: Any) -> None:
            await super().__aexit__(*exc_info)
            if isinstance(exc_info[1], TransientConflict):
                lost.set()

    services = storm_processes.services(lambda: Watched(store))
    body = json.dumps({"asset_name": "web-01", "signature": "cpu", "severity": "high",
                       "message": "cpu", "tool_source": "Datadog",
                       "timestamp": START.isoformat()}).encode()  # fmt: skip
    request = WebhookRequest(body=body, headers={}, query={"api_key": storm_processes.api_key(0)})
    async with store() as holder:
        await holder.incidents.lock_key("c0", "web-01|cpu")
        ingest = asyncio.create_task(ingest_webhook(services, request))
        await asyncio.wait_for(lost.wait(), 10)
        await holder.commit()
    outcome = await asyncio.wait_for(ingest, 10)
    assert outcome.status == 202
    async with store() as uow:
        assert await uow.alerts.count(None, None, None) == 1


# --- eight processes, one storm --------------------------------------------------------------


def _worker(url: str, database: str, share: list[Delivery], start: Any, results: Any) -> None:
    async def run() -> int:
        store = await open_mongo_store(url, database=database)
        try:
            services = storm_processes.services(store)
            start.wait()
            sent = [await storm_processes.send(services, d, attempts=20) for d in share]
            return sum(sent)
        finally:
            await store.close()

    try:
        results.put(("ok", asyncio.run(run())))
    except BaseException as error:  # pragma: no cover - reported by the parent
        results.put(("error", repr(error)))


async def test_eight_processes_store_one_storm_exactly_as_one_process(
    store: MongoStore, mongo_url: str, database: str
) -> None:
    storm = storm_processes.storm(600)
    await storm_processes.add_companies(store)

    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_worker, args=(mongo_url, database, share, start, results))
        for share in storm_processes.deal(storm)
    ]
    for worker in workers:
        worker.start()
    outcomes: list[tuple[str, object]] = []
    try:
        outcomes = [results.get(timeout=55) for _ in workers]
    finally:
        # A worker left running would write on into the database the fixture drops.
        for worker in workers:
            worker.join(timeout=10 if len(outcomes) == PROCESSES else 0)
            if worker.is_alive():  # pragma: no cover - only when the test already failed
                worker.terminate()
                worker.join()
    assert [kind for kind, _ in outcomes] == ["ok"] * PROCESSES, outcomes

    reference = InMemoryStore()
    await storm_processes.add_companies(reference)
    services = storm_processes.services(reference)
    for delivery in storm:
        await storm_processes.send(services, delivery, attempts=20)

    stored, partition = await storm_processes.partition(store)
    delivery_count = await store.db["deliveries"].count_documents({})
    expected, expected_partition = await storm_processes.partition(reference)

    unique_deliveries = {(c, h["x-delivery-id"]) for c, _, h in storm}
    assert len(stored) == len(set(stored)), "an alert was stored twice"
    assert set(stored) == set(expected), "an alert was lost (or invented)"
    assert delivery_count == len(unique_deliveries)
    assert partition == expected_partition
