"""KPI time series: buckets of one width from ``since``, computed in one pass, adding up to
the period's KPIs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._kpis import MAX_BUCKETS, bucket_count, compute_kpi_series, compute_kpis
from alertwhisperer_core._models import Incident, IncidentStatus, Resolution
from alertwhisperer_core.errors import ValidationError

from .test_kpis import T0, incident

HOUR = timedelta(hours=1)


def _incident(n: int, minute: float, **kw: Any) -> Incident:
    first = T0 + timedelta(minutes=minute)
    return attrs.evolve(incident(n, **kw), first_event_at=first, last_event_at=first)


def test_buckets_start_at_since_and_the_last_one_is_cut_at_until() -> None:
    buckets = compute_kpi_series(
        since=T0, until=T0 + 150 * timedelta(minutes=1), width=HOUR, alert_counts={}, incidents=[]
    )
    assert [(b.since, b.until) for b in buckets] == [
        (T0, T0 + HOUR),
        (T0 + HOUR, T0 + 2 * HOUR),
        (T0 + 2 * HOUR, T0 + timedelta(minutes=150)),
    ]
    assert all(
        b.report.alert_count == 0 and b.report.noise_reduction.value is None for b in buckets
    )


def test_each_incident_counts_in_the_bucket_of_its_first_event() -> None:
    incidents = [
        _incident(1, 0),
        _incident(2, 59.999),
        _incident(3, 60, resolution=Resolution.SELF_HEALED, minutes=5),
        _incident(4, 125, status=IncidentStatus.PENDING),
        _incident(5, -1),  # before the period
        _incident(6, 180),  # at its end (exclusive)
    ]
    buckets = compute_kpi_series(
        since=T0,
        until=T0 + 3 * HOUR,
        width=HOUR,
        alert_counts={0: 4, 1: 1, 2: 3, 7: 100},
        incidents=incidents,
    )
    assert [b.report.incident_count for b in buckets] == [2, 1, 0]
    assert [b.report.alert_count for b in buckets] == [4, 1, 3]
    assert buckets[0].report.noise_reduction.value == 50.0
    assert buckets[1].report.self_healed.value == 100.0
    assert buckets[2].report.noise_reduction.value == 100.0


def test_a_period_without_end_counts_what_follows_until_in_the_last_bucket() -> None:
    buckets = compute_kpi_series(
        since=T0,
        until=T0 + 2 * HOUR,
        width=HOUR,
        alert_counts={1: 1, 2: 2, 3: 1},
        incidents=[_incident(1, 120), _incident(2, 121)],
        closed=True,
    )
    assert [b.report.alert_count for b in buckets] == [0, 4]
    assert [b.report.incident_count for b in buckets] == [0, 2]


def test_an_empty_period_has_no_buckets() -> None:
    assert (
        compute_kpi_series(since=T0, until=T0, width=HOUR, alert_counts={5: 1}, incidents=[]) == []
    )


@pytest.mark.parametrize(
    ("since", "until", "width", "field"),
    [
        (T0, T0 - HOUR, HOUR, "until"),
        (T0, T0 + HOUR, timedelta(0), "bucket"),
        (T0, T0 + (MAX_BUCKETS + 1) * HOUR, HOUR, "since"),
    ],
)
def test_bad_periods_are_validation_errors_naming_the_field(
    since: datetime, until: datetime, width: timedelta, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        bucket_count(since, until, width)
    assert caught.value.errors[0]["field"] == field


def test_the_most_buckets_allowed_is_accepted() -> None:
    assert bucket_count(T0, T0 + MAX_BUCKETS * HOUR, HOUR) == MAX_BUCKETS


@given(
    minutes=st.lists(st.integers(min_value=-120, max_value=24 * 60 + 120), max_size=40),
    healed=st.lists(st.booleans(), max_size=40),
    counts=st.dictionaries(st.integers(0, 30), st.integers(0, 50), max_size=10),
    width_minutes=st.sampled_from([15, 60, 24 * 60]),
)
def test_buckets_add_up_to_the_period(
    minutes: list[int], healed: list[bool], counts: dict[int, int], width_minutes: int
) -> None:
    until = T0 + timedelta(hours=24)
    width = timedelta(minutes=width_minutes)
    n = bucket_count(T0, until, width)
    counts = {i: c for i, c in counts.items() if i < n}
    incidents = [
        _incident(k, m, resolution=Resolution.SELF_HEALED, minutes=1)
        if k < len(healed) and healed[k]
        else _incident(k, m)
        for k, m in enumerate(minutes)
    ]
    inside = [i for i in incidents if T0 <= i.first_event_at < until]
    buckets = compute_kpi_series(
        since=T0,
        until=until,
        width=width,
        alert_counts=counts,
        incidents=incidents,
    )
    total = compute_kpis(alert_count=sum(counts.values()), incidents=inside, compliance=None)
    assert len(buckets) == n
    assert sum(b.report.alert_count for b in buckets) == total.alert_count
    assert sum(b.report.incident_count for b in buckets) == total.incident_count
    assert sum(b.report.self_healed_count for b in buckets) == total.self_healed_count
    for b in buckets:
        assert b.until - b.since <= width
