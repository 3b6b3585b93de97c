"""The ingest use case (through repositories) and the in-memory Correlator partition alike."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core import CorrelationSettings, Correlator
from alertwhisperer_core.normalize import normalize

from .support.world import T0, generic, make_world

KEYS = [("web-01", "cpu_high"), ("web-01", "disk_full"), ("db-01", "cpu_high")]

streams = st.lists(
    st.tuples(st.integers(0, len(KEYS) - 1), st.integers(0, 180 * 60)),  # key, second offset
    min_size=1,
    max_size=40,
)


def bodies(stream: list[tuple[int, int]]) -> list[bytes]:
    out = []
    for n, (key, offset) in enumerate(stream):
        asset, signature = KEYS[key]
        payload = generic(asset, signature, at=T0 + timedelta(seconds=offset))
        payload["message"] = f"tag-{n}"
        out.append(json.dumps(payload).encode())
    return out


def engine_partition(raw: list[bytes], settings: CorrelationSettings) -> set[frozenset[str]]:
    ids = map("e{}".format, itertools.count()).__next__
    correlator = Correlator(new_id=ids, settings=settings, allowed_lateness=None)
    now = T0 + timedelta(hours=4)
    tags = {}
    for body in raw:
        for alert in normalize(body, company_id="acme", received_at=now, new_id=ids).alerts:
            tags[alert.id] = alert.message
            correlator.observe(alert, now)
    return {frozenset(tags[a] for a in i.alert_ids) for i in correlator.open_incidents()}


async def service_partition(raw: list[bytes], settings: CorrelationSettings) -> set[frozenset[str]]:
    world = make_world(T0 + timedelta(hours=4))
    await world.add_company(correlation=settings)
    for body in raw:
        await world.post(body)
    store = world.store
    return {
        frozenset(store.alerts[a][0].message for a in store.alerts_by_incident.get(i.id, ()))
        for i in store.incidents.values()
        if i.merged_into is None
    }


@given(stream=streams, window=st.integers(1, 30))
def test_service_and_engine_give_the_same_partition(
    stream: list[tuple[int, int]], window: int
) -> None:
    settings = CorrelationSettings(window_minutes=window)
    raw = bodies(stream)
    assert asyncio.run(service_partition(raw, settings)) == engine_partition(raw, settings)


def alertmanager_batches(stream: list[tuple[int, int]], cuts: list[int]) -> list[bytes]:
    """The stream as Alertmanager webhook payloads, cut into batches after the given indexes
    (alerts of one batch are correlated against each other's changes, not the store's)."""
    alerts = []
    for n, (key, offset) in enumerate(stream):
        asset, signature = KEYS[key]
        at = (T0 + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
        alerts.append({
            "status": "firing", "startsAt": at, "endsAt": "0001-01-01T00:00:00Z",
            "labels": {"alertname": signature, "instance": asset, "severity": "high"},
            "annotations": {"summary": f"tag-{n}"}, "fingerprint": f"{key:016x}",
        })  # fmt: skip
    bounds = sorted({c % len(alerts) for c in cuts} | {0, len(alerts)})
    return [
        json.dumps(
            {"version": "4", "groupKey": f"g{lo}", "status": "firing", "alerts": alerts[lo:hi]}
        ).encode()
        for lo, hi in itertools.pairwise(bounds)
        if hi > lo
    ]


@given(stream=streams, window=st.integers(1, 30), cuts=st.lists(st.integers(0, 40), max_size=6))
def test_batches_partition_as_the_engine_does_alert_by_alert(
    stream: list[tuple[int, int]], window: int, cuts: list[int]
) -> None:
    settings = CorrelationSettings(window_minutes=window)
    raw = alertmanager_batches(stream, cuts)
    assert asyncio.run(service_partition(raw, settings)) == engine_partition(raw, settings)
