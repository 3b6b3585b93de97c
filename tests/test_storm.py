"""The seeded storm generator shared by the demo replay, the benchmarks and tests.

Every trait an MSP storm has must be in it: many companies, cascades, flapping checks,
multi-tool duplicates, retries and out-of-order delivery (see also tests/test_cli_replay.py).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from alertwhisperer_adapters.storm import StormConfig, alertmanager_batches, generate_storm
from alertwhisperer_core.normalize import normalize

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _alerts(config: StormConfig) -> list[tuple[int, object]]:
    ids = map(str, itertools.count())
    seen: set[str] = set()
    out = []
    for d in generate_storm(config):
        if d.headers["x-delivery-id"] in seen:
            continue  # a retry
        seen.add(d.headers["x-delivery-id"])
        for alert in normalize(d.body, company_id=f"c{d.company}", received_at=NOW,
                               new_id=ids.__next__).alerts:  # fmt: skip
            out.append((d.company, alert))
    return out


def test_storm_spans_many_companies_and_cascades_over_signatures() -> None:
    storm = generate_storm(StormConfig(alerts=2000, companies=12, seed=5))
    assert {d.company for d in storm} == set(range(12))
    by_asset: dict[str, set[str]] = defaultdict(set)
    for d in storm:
        by_asset[d.asset].add(d.signature)
    assert max(len(sigs) for sigs in by_asset.values()) >= 3  # one sick asset, several checks


def test_flapping_checks_fire_and_recover_more_than_once() -> None:
    config = StormConfig(alerts=3000, flap_ratio=0.5, seed=9)
    transitions: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for d in sorted(generate_storm(config), key=lambda d: d.event_time):
        transitions[(d.asset, d.signature)].append(d.firing)
    flaps = [
        states for states in transitions.values()
        if sum(1 for a, b in itertools.pairwise(states) if a and not b) >= 2
    ]  # fmt: skip
    assert flaps, "no check recovered, re-fired and recovered again"


def test_no_flapping_means_no_recoveries() -> None:
    storm = generate_storm(StormConfig(alerts=1000, flap_ratio=0.0, seed=9))
    assert all(d.firing for d in storm)


def _cross_tool_pairs(config: StormConfig) -> int:
    """Firings of one key from two different tools within 20 s of each other."""
    firings: dict[tuple[int, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for company, alert in _alerts(config):
        if alert.status == "firing":  # type: ignore[attr-defined]
            key = (company, alert.asset_name, alert.signature)  # type: ignore[attr-defined]
            firings[key].append((alert.event_time, alert.tool_source))  # type: ignore[attr-defined]
    pairs = 0
    for events in firings.values():
        events.sort()
        for (t1, tool1), (t2, tool2) in itertools.pairwise(events):
            pairs += tool1 != tool2 and t2 - t1 <= timedelta(seconds=20)
    return pairs


def test_multi_tool_duplicates_report_one_problem_from_two_tools_seconds_apart() -> None:
    with_duplicates = _cross_tool_pairs(StormConfig(alerts=2000, duplicate_ratio=0.5, seed=4))
    without = _cross_tool_pairs(StormConfig(alerts=2000, duplicate_ratio=0.0, seed=4))
    assert with_duplicates > 100
    # Without them, two tools on one key seconds apart only happen by a cascade's chance.
    assert without * 5 < with_duplicates


def test_deliveries_describe_their_bodies() -> None:
    for company, alert in _alerts(StormConfig(alerts=300, seed=2))[:50]:
        assert alert.company_id == f"c{company}"  # type: ignore[attr-defined]
    for d in generate_storm(StormConfig(alerts=300, seed=2)):
        body = d.body.decode()
        assert d.asset in body
        assert d.signature in body


def test_alertmanager_batches_are_the_same_storm_as_label_sets() -> None:
    config = StormConfig(alerts=1000, seed=6)
    unique = {d.headers["x-delivery-id"]: d for d in generate_storm(config)}
    batches = alertmanager_batches(config, size=100)
    assert [len(b) for b in batches[:-1]] == [100] * (len(batches) - 1)
    flat = [a for b in batches for a in b]
    assert len(flat) == len(unique)  # retries appear once
    deliveries = list(unique.values())
    for alert, d in zip(flat, deliveries, strict=True):
        assert alert["labels"] == {
            "alertname": d.signature, "instance": f"{d.asset}:9100",
            "company": f"c{d.company}", "severity": d.severity,
        }  # fmt: skip
        assert (alert["endsAt"] == "0001-01-01T00:00:00Z") is d.firing
    json.dumps(batches)  # postable as it is


def test_batches_are_reproducible_from_the_seed() -> None:
    config = StormConfig(alerts=500, seed=3)
    assert alertmanager_batches(config) == alertmanager_batches(config)
    assert alertmanager_batches(config) != alertmanager_batches(StormConfig(alerts=500, seed=4))
