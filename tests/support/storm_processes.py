"""One interleaved MSP storm, dealt to several OS processes, and what must hold afterwards.

Shared by the PostgreSQL and MongoDB concurrency tests: the storm fires only (no recoveries), so
within ``max_span`` the partition of alerts into incidents does not depend on arrival order and
the concurrent result must equal one process's.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alertwhisperer_adapters.storm import StormConfig, generate_storm
from alertwhisperer_core import (
    Company,
    CompanySettings,
    RateLimitSettings,
    generate_api_key,
    hash_api_key,
)
from alertwhisperer_core.memory import (
    InMemoryEventBus,
    InMemoryRateLimiter,
    InMemoryReplayGuard,
    ManualClock,
)
from alertwhisperer_core.ports import AlertQuery, TransientConflict, UnitOfWorkFactory
from alertwhisperer_core.service import Services, WebhookRequest, ingest_webhook

PROCESSES = 8
COMPANIES = 3
START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
NOW = START + timedelta(hours=3)
Delivery = tuple[int, bytes, dict[str, str]]


def api_key(company: int) -> str:
    return generate_api_key(bytes([company + 1]) * 32)


def multi_alert_batches(
    rng: random.Random, count: int, first: datetime = START
) -> list[tuple[datetime, Delivery]]:
    """Alertmanager groups of 2 to 5 alerts over several keys, in no particular order."""
    batches = []
    for n in range(count):
        company = rng.randrange(COMPANIES)
        at = first + timedelta(minutes=rng.uniform(0, 60))
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


def storm(alerts: int, start: datetime = START) -> list[Delivery]:
    """Single alerts and batches interleaved, late arrivals shuffled in, no recoveries.

    ``start`` is the first event time (a server on the wall clock needs a recent one: event
    times in its future are clamped)."""
    config = StormConfig(
        alerts=alerts, companies=COMPANIES, assets_per_company=12, signatures=4,
        duration_minutes=60, start=start, flap_ratio=0.0, retry_ratio=0.05, out_of_order=0.3,
        seed=11,
    )  # fmt: skip
    rng = random.Random(3)
    timed = [(d.event_time, (d.company, d.body, dict(d.headers))) for d in generate_storm(config)]
    timed += multi_alert_batches(rng, alerts // 20, start)
    timed.sort(key=lambda pair: pair[0] + timedelta(minutes=rng.uniform(-10, 10)))
    return [delivery for _, delivery in timed]


def deal(storm: list[Delivery]) -> list[list[Delivery]]:
    """Round-robin to the processes; every tenth delivery is also sent by another process."""
    shares: list[list[Delivery]] = [[] for _ in range(PROCESSES)]
    for n, delivery in enumerate(storm):
        shares[n % PROCESSES].append(delivery)
        if n % 10 == 0:
            shares[(n + 3) % PROCESSES].append(delivery)
    return shares


class UuidIds:
    def new_id(self) -> str:
        return uuid.uuid4().hex

    def token_bytes(self, n: int) -> bytes:
        return uuid.uuid4().bytes * (n // 16 + 1)


def services(store: UnitOfWorkFactory) -> Services:
    return Services(uow=store, rate_limiter=InMemoryRateLimiter(),
                    replay_guard=InMemoryReplayGuard(), events=InMemoryEventBus(),
                    clock=ManualClock(NOW), ids=UuidIds())  # fmt: skip


async def send(services: Services, delivery: Delivery, attempts: int = 10) -> int:
    """Send like a sender: a 503 (every retry of a lost race lost too) is sent again.
    Returns how many times that happened."""
    company, body, headers = delivery
    request = WebhookRequest(body=body, headers=headers, query={"api_key": api_key(company)})
    for attempt in range(attempts):
        try:
            await ingest_webhook(services, request)
            return attempt
        except TransientConflict:
            continue
    raise AssertionError("a delivery kept failing")


async def add_companies(store: UnitOfWorkFactory) -> None:
    limits = RateLimitSettings(requests_per_minute=1000, burst=100_000)
    async with store() as uow:
        for n in range(COMPANIES):
            await uow.companies.add(Company(
                id=f"c{n}", name=f"C{n}", created_at=START,
                settings=CompanySettings(rate_limit=limits), api_key_hash=hash_api_key(api_key(n)),
            ))  # fmt: skip
        await uow.commit()


async def partition(store: UnitOfWorkFactory) -> tuple[list[tuple[Any, ...]], set[frozenset[Any]]]:
    """Every stored alert by content, and the alerts of each unmerged incident, by content."""
    async with store() as uow:
        rows = (await uow.alerts.list(AlertQuery(limit=1_000_000))).items
        incidents = await uow.incidents.all_in_period(None, None, None)

    def identity(alert: Any) -> tuple[Any, ...]:
        return (alert.company_id, alert.delivery_id, alert.asset_name, alert.signature,
                alert.event_time)  # fmt: skip

    alerts = [identity(a) for a, _ in rows]
    groups: dict[str, set[Any]] = {}
    for alert, incident_id in rows:
        groups.setdefault(str(incident_id), set()).add(identity(alert))
    live = {i.id for i in incidents if i.merged_into is None}
    assert set(groups) <= live
    return alerts, {frozenset(members) for members in groups.values()}
