"""The ingest use case stores the same incidents on SQLite as on the in-memory store.

SQLite's ingest path has shortcuts of its own: all of a delivery's keys read in one statement,
a process-wide cache of stored open incidents kept between units of work (emptied when another
connection commits), and incidents written back as updates of their changed columns only. A
random stream of Alertmanager batches (firing and resolved alerts, out of order, several keys,
repeated deliveries) goes through both stores, with incidents resolved between deliveries by
*another* connection to the SQLite file (as another server process would); every incident and
every alert's membership must come out equal, field for field.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertwhisperer_adapters.sql import SqlStore, open_sql_store, upgrade_database
from alertwhisperer_core import CorrelationSettings, Incident, IncidentStatus, Resolution
from alertwhisperer_core.memory import (
    InMemoryEventBus,
    InMemoryRateLimiter,
    InMemoryReplayGuard,
    ManualClock,
    SequentialIds,
)
from alertwhisperer_core.ports import UnitOfWorkFactory
from alertwhisperer_core.service import Services

from .support.world import T0, World, make_world

KEYS = [("web-01", "cpu_high"), ("web-01", "disk_full"), ("db-01", "cpu_high"), ("db-02", "oom")]
NOW = T0 + timedelta(hours=6)

alerts = st.tuples(
    st.integers(0, len(KEYS) - 1),  # key
    st.integers(0, 4 * 60),  # minute of the event
    st.booleans(),  # resolved
)
steps = st.one_of(
    st.lists(alerts, min_size=1, max_size=6).map(lambda batch: ("post", batch)),
    st.integers(0, 50).map(lambda n: ("resolve", n)),  # another process resolves an incident
)


def _body(batch: list[tuple[int, int, bool]], n: int) -> bytes:
    out = []
    for key, minute, resolved in batch:
        asset, signature = KEYS[key]
        at = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        out.append({
            "status": "resolved" if resolved else "firing",
            "labels": {"alertname": signature, "instance": asset, "severity": "high"},
            "startsAt": at, "endsAt": at if resolved else "0001-01-01T00:00:00Z",
            "fingerprint": f"{key:016x}",
        })  # fmt: skip
    # The group key repeats now and then: an identical delivery is answered as a duplicate.
    return json.dumps({"version": "4", "groupKey": f"g{n % 5}", "alerts": out}).encode()


def _world(store: UnitOfWorkFactory) -> World:
    clock, ids, events = ManualClock(NOW), SequentialIds(), InMemoryEventBus()
    services = Services(
        uow=store, rate_limiter=InMemoryRateLimiter(), replay_guard=InMemoryReplayGuard(),
        events=events, clock=clock, ids=ids,
    )  # fmt: skip
    return World(store, clock, ids, events, services)  # type: ignore[arg-type]


async def _resolve_nth(store: UnitOfWorkFactory, n: int) -> None:
    """Resolve the ``n``-th open incident (by id), as an engineer in another process would."""
    async with store() as uow:
        incidents = sorted(await uow.incidents.all_in_period(None, None, None), key=_by_id)
        open_ = [i for i in incidents if i.is_open and i.status is not IncidentStatus.PENDING]
        if not open_:
            return
        chosen = open_[n % len(open_)]
        await uow.incidents.update(
            attrs.evolve(
                chosen,
                status=IncidentStatus.RESOLVED,
                resolution=Resolution.MANUAL,
                resolved_at=NOW,
            )
        )
        await uow.commit()


def _by_id(incident: Incident) -> str:
    return incident.id


async def _snapshot(store: UnitOfWorkFactory) -> list[tuple[Incident, list[str]]]:
    async with store() as uow:
        incidents = sorted(await uow.incidents.all_in_period(None, None, None), key=_by_id)
        return [(i, await uow.alerts.ids_for_incident(i.id)) for i in incidents]


async def _run(steps_: list[tuple[str, Any]], settings_: CorrelationSettings, path: Path) -> None:
    memory = make_world(NOW)
    sql: SqlStore = await open_sql_store(f"sqlite:///{path}")
    other: SqlStore = await open_sql_store(f"sqlite:///{path}")  # another process's connection
    try:
        worlds = [memory, _world(sql)]
        for world in worlds:
            await world.add_company(correlation=settings_)
        for n, (kind, arg) in enumerate(steps_):
            if kind == "resolve":
                await _resolve_nth(memory.store, arg)
                await _resolve_nth(other, arg)
                continue
            body = _body(arg, n)
            answers = [await w.post(body, headers={"user-agent": "Alertmanager/0.25.0"})
                       for w in worlds]  # fmt: skip
            assert answers[0].body == answers[1].body
        assert await _snapshot(sql) == await _snapshot(memory.store)
    finally:
        await other.close()
        await sql.close()


_TEMPLATE: list[Path] = []


def _fresh_database() -> Path:
    """A copy of one migrated database (migrating for every example would be slow)."""
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp()) / "template.db"
        upgrade_database(f"sqlite:///{template}")
        _TEMPLATE.append(template)
    path = Path(tempfile.mkdtemp()) / "aw.db"
    shutil.copyfile(_TEMPLATE[0], path)
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps_=st.lists(steps, min_size=1, max_size=14),
    window=st.integers(1, 30),
    max_span=st.sampled_from([60, 1440]),
)
def test_sqlite_and_memory_store_the_same_incidents(
    steps_: list[tuple[str, Any]], window: int, max_span: int
) -> None:
    path = _fresh_database()
    try:
        correlation = CorrelationSettings(window_minutes=window, max_span_minutes=max_span)
        asyncio.run(_run(steps_, correlation, path))
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
