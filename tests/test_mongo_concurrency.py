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
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from alertwhisperer_adapters.mongo import MongoStore, MongoUnitOfWork, open_mongo_store
from alertwhisperer_adapters.storm import StormConfig, generate_storm
from alertwhisperer_core import (
    Company,
    CompanySettings,
    RateLimitSettings,
    generate_api_key,
    hash_api_key,
)
from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.memory import (
    InMemoryEventBus,
    InMemoryRateLimiter,
    InMemoryReplayGuard,
    InMemoryStore,
    ManualClock,
)
from alertwhisperer_core.ports import (
    AlertQuery,
    DuplicateDelivery,
    TransientConflict,
    UnitOfWorkFactory,
)
from alertwhisperer_core.service import Services, WebhookRequest, ingest_webhook

from .conftest import service_url
from .contract._databases import mongo_database
from .contract.records import alert, company

pytestmark = pytest.mark.mongo

PROCESSES = 8
COMPANIES = 3
START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
NOW = START + timedelta(hours=3)
KEY = "web-01|cpu"
Delivery = tuple[int, bytes, dict[str, str]]


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
    await _add_companies(store)
    lost = asyncio.Event()

    class Watched(MongoUnitOfWork):
        async def __aexit__(self, *exc_info: Any) -> None:
            await super().__aexit__(*exc_info)
            if isinstance(exc_info[1], TransientConflict):
                lost.set()

    services = _services(lambda: Watched(store))
    body = json.dumps({"asset_name": "web-01", "signature": "cpu", "severity": "high",
                       "message": "cpu", "tool_source": "Datadog",
                       "timestamp": START.isoformat()}).encode()  # fmt: skip
    request = WebhookRequest(body=body, headers={}, query={"api_key": _api_key(0)})
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


def _api_key(company: int) -> str:
    return generate_api_key(bytes([company + 1]) * 32)


def _multi_alert_batches(rng: random.Random, count: int) -> list[tuple[datetime, Delivery]]:
    """Alertmanager groups of 2 to 5 alerts over several keys, in no particular order."""
    batches = []
    for n in range(count):
        company = rng.randrange(COMPANIES)
        at = START + timedelta(minutes=rng.uniform(0, 60))
        alerts = []
        for _ in range(rng.randint(2, 5)):
            asset = f"c{company}-srv-{rng.randrange(12):03d}"
            sig = rng.choice(["cpu_high", "disk_full", "memory_pressure", "ntp_drift"])
            start = (at + timedelta(seconds=rng.uniform(0, 120))).isoformat()
            alerts.append({
                "status": "firing", "startsAt": start, "endsAt": "0001-01-01T00:00:00Z",
                "labels": {"alertname": sig, "instance": f"{asset}:9100", "severity": "high"},
                "annotations": {"summary": f"{sig} on {asset}"},
                "fingerprint": uuid.UUID(int=rng.getrandbits(128)).hex[:16],
            })  # fmt: skip
        body = json.dumps({"version": "4", "groupKey": f"batch-{n}", "alerts": alerts}).encode()
        batches.append((at, (company, body, {"x-delivery-id": f"batch-{n}"})))
    return batches


def _storm(alerts: int) -> list[Delivery]:
    """Single alerts and batches interleaved, late arrivals shuffled in, no recoveries."""
    config = StormConfig(
        alerts=alerts, companies=COMPANIES, assets_per_company=12, signatures=4,
        duration_minutes=60, start=START, flap_ratio=0.0, retry_ratio=0.05, out_of_order=0.3,
        seed=11,
    )  # fmt: skip
    rng = random.Random(3)
    timed = [(d.event_time, (d.company, d.body, dict(d.headers))) for d in generate_storm(config)]
    timed += _multi_alert_batches(rng, alerts // 20)
    timed.sort(key=lambda pair: pair[0] + timedelta(minutes=rng.uniform(-10, 10)))
    return [delivery for _, delivery in timed]


def _deal(storm: list[Delivery]) -> list[list[Delivery]]:
    """Round-robin to the processes; every tenth delivery is also sent by another process."""
    shares: list[list[Delivery]] = [[] for _ in range(PROCESSES)]
    for n, delivery in enumerate(storm):
        shares[n % PROCESSES].append(delivery)
        if n % 10 == 0:
            shares[(n + 3) % PROCESSES].append(delivery)
    return shares


class _UuidIds:
    def new_id(self) -> str:
        return uuid.uuid4().hex

    def token_bytes(self, n: int) -> bytes:
        return uuid.uuid4().bytes * (n // 16 + 1)


def _services(store: UnitOfWorkFactory) -> Services:
    return Services(uow=store, rate_limiter=InMemoryRateLimiter(),
                    replay_guard=InMemoryReplayGuard(), events=InMemoryEventBus(),
                    clock=ManualClock(NOW), ids=_UuidIds())  # fmt: skip


async def _send(services: Services, delivery: Delivery) -> int:
    """Send like a sender: a 503 (the use case gave up on a contended key) is retried.
    Returns how many times it was."""
    company, body, headers = delivery
    request = WebhookRequest(body=body, headers=headers, query={"api_key": _api_key(company)})
    for attempt in range(20):
        try:
            await ingest_webhook(services, request)
            return attempt
        except TransientConflict:
            continue
    raise AssertionError("a delivery kept conflicting")


def _worker(url: str, database: str, share: list[Delivery], start: Any, results: Any) -> None:
    async def run() -> int:
        store = await open_mongo_store(url, database=database)
        try:
            services = _services(store)
            start.wait()
            return sum([await _send(services, delivery) for delivery in share])
        finally:
            await store.close()

    try:
        results.put(("ok", asyncio.run(run())))
    except BaseException as error:  # pragma: no cover - reported by the parent
        results.put(("error", repr(error)))


async def _add_companies(store: UnitOfWorkFactory) -> None:
    limits = RateLimitSettings(requests_per_minute=1000, burst=100_000)
    async with store() as uow:
        for n in range(COMPANIES):
            await uow.companies.add(Company(
                id=f"c{n}", name=f"C{n}", created_at=START,
                settings=CompanySettings(rate_limit=limits), api_key_hash=hash_api_key(_api_key(n)),
            ))  # fmt: skip
        await uow.commit()


async def _partition(store: UnitOfWorkFactory) -> tuple[list[tuple[Any, ...]], set[frozenset[Any]]]:
    """Every stored alert by content, and the alerts of each unmerged incident, by content."""
    async with store() as uow:
        rows = (await uow.alerts.list(AlertQuery(limit=1_000_000))).items
        incidents = await uow.incidents.all_in_period(None, None, None)

    def identity(alert: Any) -> tuple[Any, ...]:
        return (alert.company_id, alert.delivery_id, alert.asset_name, alert.signature,
                alert.event_time)  # fmt: skip

    alerts = [identity(a) for a, _ in rows]
    groups: dict[str, set[Any]] = {}
    for stored, incident_id in rows:
        groups.setdefault(str(incident_id), set()).add(identity(stored))
    live = {i.id for i in incidents if i.merged_into is None}
    assert set(groups) <= live
    return alerts, {frozenset(members) for members in groups.values()}


async def test_eight_processes_store_one_storm_exactly_as_one_process(
    store: MongoStore, mongo_url: str, database: str
) -> None:
    storm = _storm(600)
    await _add_companies(store)

    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_worker, args=(mongo_url, database, share, start, results))
        for share in _deal(storm)
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
    await _add_companies(reference)
    services = _services(reference)
    for delivery in storm:
        await _send(services, delivery)

    stored, partition = await _partition(store)
    delivery_count = await store.db["deliveries"].count_documents({})
    expected, expected_partition = await _partition(reference)

    unique_deliveries = {(c, h["x-delivery-id"]) for c, _, h in storm}
    assert len(stored) == len(set(stored)), "an alert was stored twice"
    assert set(stored) == set(expected), "an alert was lost (or invented)"
    assert delivery_count == len(unique_deliveries)
    assert partition == expected_partition
