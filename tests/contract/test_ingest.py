"""The ingest use case on every back end: a delivery is stored whole or not at all, and the
same deliveries give the same alerts and incidents everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from alertwhisperer_adapters.storm import StormConfig, generate_storm
from alertwhisperer_core import (
    Company,
    CompanySettings,
    NormalizationError,
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
    SequentialIds,
)
from alertwhisperer_core.ports import (
    AlertQuery,
    AuditQuery,
    IncidentQuery,
    UnitOfWork,
    UnitOfWorkFactory,
)
from alertwhisperer_core.service import Services, WebhookRequest, ingest_webhook

from .records import T0

API_KEY = generate_api_key(b"k" * 32)


def _services(store: UnitOfWorkFactory) -> Services:
    return Services(
        uow=store, rate_limiter=InMemoryRateLimiter(), replay_guard=InMemoryReplayGuard(),
        events=InMemoryEventBus(), clock=ManualClock(T0 + timedelta(hours=2)),
        ids=SequentialIds(),
    )  # fmt: skip


async def _add_companies(store: UnitOfWorkFactory, count: int = 1) -> None:
    limits = RateLimitSettings(requests_per_minute=1000, burst=100_000)
    async with store() as uow:
        for n in range(count):
            company = Company(
                id=f"c{n}", name=f"C{n}", created_at=T0,
                settings=CompanySettings(rate_limit=limits),
                api_key_hash=hash_api_key(f"{API_KEY}-{n}"),
            )  # fmt: skip
            await uow.companies.add(company)
        await uow.commit()


def _alertmanager(n: int, *, bad_at: int | None = None) -> dict[str, Any]:
    alerts = []
    for i in range(n):
        labels = {"alertname": f"Sig{i % 3}", "instance": f"web-{i}:9100", "severity": "high"}
        if i == bad_at:
            labels["severity"] = "no-such-severity"
        alerts.append({
            "status": "firing", "labels": labels, "annotations": {"summary": "s"},
            "startsAt": (T0 + timedelta(minutes=i)).isoformat(), "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"fp{i}",
        })  # fmt: skip
    return {"version": "4", "groupKey": "g", "status": "firing", "alerts": alerts}


async def _post(
    services: Services, payload: Any, company: int = 0, headers: dict[str, str] | None = None
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = WebhookRequest(
        body=body, headers={k.lower(): v for k, v in (headers or {}).items()},
        query={"api_key": f"{API_KEY}-{company}"},
    )  # fmt: skip
    return await ingest_webhook(services, request)


async def _counts(store: UnitOfWorkFactory) -> tuple[int, int, int]:
    async with store() as uow:
        alerts = await uow.alerts.count(None, None, None)
        incidents = len(await uow.incidents.all_in_period(None, None, None))
        audit = len((await uow.audit.list(AuditQuery(limit=1000))).items)
    return alerts, incidents, audit


async def test_a_batch_with_a_bad_third_alert_stores_none_of_it(store: UnitOfWorkFactory) -> None:
    await _add_companies(store)
    services = _services(store)
    with pytest.raises(NormalizationError):
        await _post(services, _alertmanager(5, bad_at=2), headers={"X-Delivery-ID": "d-1"})
    assert await _counts(store) == (0, 0, 0)
    async with store() as uow:
        assert await uow.deliveries.get("c0", "d-1", services.clock.now()) is None


async def test_an_accepted_batch_stores_every_alert_and_its_delivery(
    store: UnitOfWorkFactory,
) -> None:
    await _add_companies(store)
    services = _services(store)
    outcome = await _post(services, _alertmanager(5), headers={"X-Delivery-ID": "d-1"})
    assert outcome.status == 202
    async with store() as uow:
        record = await uow.deliveries.get("c0", "d-1", services.clock.now())
        stored = [await uow.alerts.get(a) for a in outcome.body["alert_ids"]]
    assert record is not None
    assert list(record.alert_ids) == outcome.body["alert_ids"]
    assert all(s is not None and s[1] in outcome.body["incident_ids"] for s in stored)
    assert (await _counts(store))[:2] == (5, 5)


async def test_a_repeated_delivery_is_answered_from_the_first_and_stores_nothing(
    store: UnitOfWorkFactory,
) -> None:
    await _add_companies(store)
    services = _services(store)
    first = await _post(services, _alertmanager(3), headers={"X-Delivery-ID": "d-1"})
    before = await _counts(store)
    again = await _post(services, _alertmanager(3), headers={"X-Delivery-ID": "d-1"})
    assert again.status == 200
    assert again.body == {**first.body, "duplicate": True}
    assert await _counts(store) == before


class _RaceOnStore:
    """Records the delivery id "from another process" just before the storing unit of work."""

    def __init__(self, store: UnitOfWorkFactory, record: DeliveryRecord, at_call: int) -> None:
        self.store = store
        self.record = record
        self.calls = 0
        self.at_call = at_call

    def __call__(self) -> UnitOfWork:
        self.calls += 1
        if self.calls == self.at_call:
            return _RacingUnitOfWork(self.store, self.record)  # type: ignore[return-value]
        return self.store()


class _RacingUnitOfWork:
    def __init__(self, store: UnitOfWorkFactory, record: DeliveryRecord) -> None:
        self.store = store
        self.record = record
        self.inner = store()

    async def __aenter__(self) -> UnitOfWork:
        async with self.store() as other:
            await other.deliveries.add(self.record, self.record.expires_at)
            await other.commit()
        return await self.inner.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self.inner.__aexit__(*exc)


async def test_a_batch_that_loses_a_delivery_race_midway_stores_none_of_it(
    store: UnitOfWorkFactory,
) -> None:
    await _add_companies(store)
    winner = DeliveryRecord(delivery_id="d-1", company_id="c0", alert_ids=("w-1",),
                            incident_ids=("w-inc",), first_seen_at=T0)  # fmt: skip
    # Units of work: authenticate, then the one that checks for duplicates and stores.
    services = _services(_RaceOnStore(store, winner, at_call=2))
    outcome = await _post(services, _alertmanager(4), headers={"X-Delivery-ID": "d-1"})
    assert outcome.status == 200
    assert outcome.body == {"alert_ids": ["w-1"], "incident_ids": ["w-inc"], "duplicate": True}
    assert await _counts(store) == (0, 0, 0)


def _storm(alerts: int) -> Iterator[tuple[int, bytes, dict[str, str]]]:
    config = StormConfig(alerts=alerts, companies=2, assets_per_company=6, signatures=3, seed=7)
    for delivery in generate_storm(config):
        yield delivery.company, delivery.body, dict(delivery.headers)


async def _snapshot(store: UnitOfWorkFactory) -> dict[str, Any]:
    async with store() as uow:
        incidents = await uow.incidents.all_in_period(None, None, None)
        alerts = (await uow.alerts.list(AlertQuery(limit=100_000))).items
        listed = (await uow.incidents.list(IncidentQuery(limit=100_000))).items
        members = {i.id: await uow.alerts.ids_for_incident(i.id) for i in incidents}
        audit = (await uow.audit.list(AuditQuery(limit=100_000))).items
    return {
        "incidents": incidents, "alerts": alerts, "listed": listed, "members": members,
        "audit": audit,
    }  # fmt: skip


async def test_a_storm_gives_the_same_records_as_the_in_memory_store(
    store: UnitOfWorkFactory,
) -> None:
    reference = InMemoryStore()
    for target in (reference, store):
        await _add_companies(target, 2)
        services = _services(target)
        for company, body, headers in _storm(300):
            await _post(services, body, company, headers)
    assert await _snapshot(store) == await _snapshot(reference)
