"""Properties of the correlator over random streams (SPEC §3), checked with hypothesis."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._correlation import SessionView, aggregation_key, plan_correlation
from alertwhisperer_core._correlator import CorrelationResult, Correlator
from alertwhisperer_core._models import Alert, AlertStatus, Incident, IncidentStatus
from alertwhisperer_core._settings import CorrelationSettings

from .correlation_reference import T0, groups_within_reach, make_alert, reference_partition

US_PER_MINUTE = 60_000_000
NOW = T0
LONG_SPAN = 525_600  # the largest max_span: long enough never to matter in these streams


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"inc-{next(counter)}"


def steps(window_minutes: int) -> st.SearchStrategy[int]:
    """Gaps (µs) between consecutive event times: often whole quarter windows (so gaps of
    exactly one window are common), a microsecond either side, or anywhere (sub-second)."""
    quarter = window_minutes * US_PER_MINUTE // 4
    return st.one_of(
        st.tuples(st.integers(0, 6), st.sampled_from([0, 0, -1, 1])).map(
            lambda p: max(p[0] * quarter + p[1], 0)
        ),
        st.integers(0, 6 * quarter),
    )


@st.composite
def streams(draw: st.DrawFn, *, with_resolved: bool = False) -> tuple[int, list[Alert]]:
    """A window (minutes) and alerts over a few keys and two companies, arriving in random
    order: late alerts, ties and bridges between incidents are all common."""
    window = draw(st.integers(1, 30))
    assets = draw(st.sampled_from([["web"], ["web", "db"], ["web", "db", "cache"]]))
    companies = draw(st.sampled_from([["acme"], ["acme", "acme", "globex"]]))
    statuses = [AlertStatus.FIRING] * 3 + ([AlertStatus.RESOLVED] if with_resolved else [])
    size = draw(st.integers(1, 30))  # uniform: hypothesis lists favour very short ones
    rows = draw(
        st.lists(
            st.tuples(
                steps(window),
                st.sampled_from(assets),
                st.sampled_from(companies),
                st.sampled_from([None, "x", "y"] if with_resolved else [None]),
                st.sampled_from(statuses),
            ),
            min_size=size,
            max_size=size,
        )
    )
    times = list(itertools.accumulate(row[0] for row in rows))
    alerts = [
        make_alert(
            f"a{i}",
            timedelta(microseconds=us),
            asset=asset,
            company=company,
            fingerprint=fingerprint,
            status=status,
        )
        for i, (us, (_, asset, company, fingerprint, status)) in enumerate(
            zip(times, rows, strict=True)
        )
    ]
    return window, draw(st.permutations(alerts))


def run(
    alerts: list[Alert], settings: CorrelationSettings, lateness: timedelta | None = None
) -> tuple[Correlator, list[CorrelationResult]]:
    c = Correlator(new_id=ids(), settings=settings, allowed_lateness=lateness)
    return c, [c.observe(alert, NOW) for alert in alerts]


def partition(c: Correlator) -> set[frozenset[str]]:
    return {frozenset(incident.alert_ids) for incident in c.open_incidents()}


def open_of_key(c: Correlator, alert: Alert, spec: str) -> list[Incident]:
    key = aggregation_key(alert, spec)
    return [i for i in c.open_incidents() if i.company_id == alert.company_id and i.key == key]


# --- order independence and the reference ----------------------------------------------------


@given(streams(), st.randoms(use_true_random=False))
def test_any_permutation_gives_the_same_partition(
    stream: tuple[int, list[Alert]], rnd: object
) -> None:
    window, alerts = stream
    shuffled = list(alerts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    settings = CorrelationSettings(window_minutes=window, max_span_minutes=LONG_SPAN)
    in_order, _ = run(alerts, settings)
    permuted, _ = run(shuffled, settings)
    assert partition(permuted) == partition(in_order)


@given(streams())
def test_partition_equals_the_brute_force_reference(stream: tuple[int, list[Alert]]) -> None:
    window, alerts = stream
    c, _ = run(alerts, CorrelationSettings(window_minutes=window, max_span_minutes=LONG_SPAN))
    assert partition(c) == reference_partition(alerts, timedelta(minutes=window))


@given(streams())
def test_merges_happen_exactly_when_a_late_alert_bridges_incidents(
    stream: tuple[int, list[Alert]],
) -> None:
    window, alerts = stream
    c = Correlator(
        new_id=ids(),
        settings=CorrelationSettings(window_minutes=window, max_span_minutes=LONG_SPAN),
        allowed_lateness=None,
    )
    for n, alert in enumerate(alerts):
        reachable = groups_within_reach(alerts[:n], alert, timedelta(minutes=window))
        result = c.observe(alert, NOW)
        assert result.opened == (reachable == 0)
        assert len(result.merged) == max(reachable - 1, 0)
        assert {i.id for i in result.retired} == set(result.merged)
        assert all(i.merged_into == result.incident_id for i in result.retired)


# --- both paths agree ------------------------------------------------------------------------


@given(streams(), st.integers(1, 3), st.integers(1, 4))
def test_planner_and_engine_make_the_same_decision(
    stream: tuple[int, list[Alert]], span_windows: int, min_alerts: int
) -> None:
    window, alerts = stream
    settings = CorrelationSettings(
        window_minutes=window, max_span_minutes=window * span_windows, min_alerts=min_alerts
    )
    c = Correlator(new_id=ids(), settings=settings, allowed_lateness=None)
    for alert in alerts:
        views = [
            SessionView(i.id, i.first_event_at, i.last_event_at, i.status is IncidentStatus.PENDING)
            for i in open_of_key(c, alert, settings.aggregation_key)
        ]
        plan = plan_correlation(alert.event_time, views, settings)
        result = c.observe(alert, NOW)
        assert result.opened == plan.open_new
        if not plan.open_new:
            assert result.incident_id == plan.join
        assert sorted(result.merged) == sorted(plan.merge)


_SETTING_CHANGES = st.lists(
    st.tuples(st.sampled_from([1, 5, 15, 30]), st.sampled_from([1, 10, 30, 120, 1440])), min_size=1
)


@given(streams(), _SETTING_CHANGES)
def test_planner_and_engine_agree_while_settings_change(
    stream: tuple[int, list[Alert]], changes: list[tuple[int, int]]
) -> None:
    _, alerts = stream
    current: list[CorrelationSettings] = []
    c = Correlator(new_id=ids(), settings=lambda _company: current[-1], allowed_lateness=None)
    for n, alert in enumerate(alerts):
        window, max_span = changes[n % len(changes)]
        current.append(CorrelationSettings(window_minutes=window, max_span_minutes=max_span))
        views = [
            SessionView(i.id, i.first_event_at, i.last_event_at)
            for i in open_of_key(c, alert, "asset|signature")
        ]
        plan = plan_correlation(alert.event_time, views, current[-1])
        result = c.observe(alert, NOW)
        assert result.opened == plan.open_new
        assert result.incident_id == (plan.join or result.incident_id)
        assert sorted(result.merged) == sorted(plan.merge)
    assert_disjoint(list(c.open_incidents()))


# --- invariants under max_span ---------------------------------------------------------------


@given(streams(), st.integers(1, 3))
def test_no_incident_ever_spans_more_than_max_span(
    stream: tuple[int, list[Alert]], span_windows: int
) -> None:
    window, alerts = stream
    max_span = timedelta(minutes=window * span_windows)
    settings = CorrelationSettings(window_minutes=window, max_span_minutes=window * span_windows)
    c, results = run(alerts, settings)
    every = list(c.open_incidents()) + [i for r in results for i in r.retired]
    assert all(i.last_event_at - i.first_event_at <= max_span for i in every)


@given(streams(), st.integers(1, 3))
def test_open_incidents_of_a_key_never_overlap_in_event_time(
    stream: tuple[int, list[Alert]], span_windows: int
) -> None:
    window, alerts = stream
    settings = CorrelationSettings(window_minutes=window, max_span_minutes=window * span_windows)
    c, _ = run(alerts, settings)
    assert_disjoint(list(c.open_incidents()))


def assert_disjoint(incidents: list[Incident]) -> None:
    by_key: dict[tuple[str, str], list[Incident]] = {}
    for incident in incidents:
        by_key.setdefault((incident.company_id, incident.key), []).append(incident)
    for same_key in by_key.values():
        same_key.sort(key=lambda i: i.first_event_at)
        for before, after in itertools.pairwise(same_key):
            assert before.last_event_at < after.first_event_at


@given(streams())
def test_without_max_span_every_alert_is_in_exactly_one_incident(
    stream: tuple[int, list[Alert]],
) -> None:
    window, alerts = stream
    c, _ = run(alerts, CorrelationSettings(window_minutes=window, max_span_minutes=LONG_SPAN))
    counted = Counter(a for i in c.open_incidents() for a in i.alert_ids)
    assert counted == Counter(a.id for a in alerts)


# --- resolution ------------------------------------------------------------------------------


@given(streams(with_resolved=True))
def test_recoveries_resolve_exactly_their_firing_counterparts(
    stream: tuple[int, list[Alert]],
) -> None:
    window, alerts = stream
    settings = CorrelationSettings(window_minutes=window)
    c = Correlator(new_id=ids(), settings=settings, allowed_lateness=None)
    closed: set[str] = set()
    for alert in alerts:
        candidates = open_of_key(c, alert, settings.aggregation_key)
        result = c.observe(alert, NOW)
        assert result.incident_id not in closed
        if alert.status is AlertStatus.FIRING:
            continue
        fp = alert.fingerprint
        matching = [i for i in candidates if fp is None or fp in i.firing_fingerprints]
        expected_resolved = {i.id for i in matching if fp is None or i.firing_fingerprints == {fp}}
        if not matching:
            assert result.incident_id is None
            continue
        target = max(matching, key=lambda i: (i.first_event_at, i.id))
        assert result.incident_id == target.id
        assert result.resolved == (target.id in expected_resolved)
        resolved = {i.id for i in result.retired if i.status is IncidentStatus.RESOLVED}
        assert resolved == expected_resolved
        closed |= resolved


# --- min_alerts and auto_correlate -----------------------------------------------------------


@given(streams(), st.integers(1, 4), st.randoms(use_true_random=False))
def test_groups_are_pending_below_min_alerts_and_activate_once(
    stream: tuple[int, list[Alert]], min_alerts: int, rnd: object
) -> None:
    window, alerts = stream
    rnd.shuffle(alerts)  # type: ignore[attr-defined]
    settings = CorrelationSettings(
        window_minutes=window, max_span_minutes=LONG_SPAN, min_alerts=min_alerts
    )
    c, results = run(alerts, settings)
    activations = Counter(r.incident_id for r in results if r.activated)
    assert max(activations.values(), default=0) <= 1
    for incident in c.open_incidents():
        visible = incident.alert_count >= min_alerts
        assert (incident.status is IncidentStatus.NEW) == visible
        assert activations[incident.id] == int(visible)
    assert all(r.pending == (r.alert_count < min_alerts) for r in results)


@given(streams())
def test_auto_correlate_off_opens_one_incident_per_alert(stream: tuple[int, list[Alert]]) -> None:
    window, alerts = stream
    c, results = run(alerts, CorrelationSettings(window_minutes=window, auto_correlate=False))
    assert all(r.opened and r.alert_count == 1 for r in results)
    assert c.open_count == len(alerts)


# --- bounded memory --------------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["web", "db", "cache"]),
            st.integers(0, 3 * 5 * US_PER_MINUTE),  # how far the clock moves
            st.integers(0, 8 * US_PER_MINUTE),  # how late this alert is
        ),
        min_size=50,
        max_size=300,
    )
)
def test_open_sessions_stay_bounded_on_an_endless_stream(
    steps: list[tuple[str, int, int]],
) -> None:
    window, lateness = timedelta(minutes=5), timedelta(minutes=5)
    c = Correlator(
        new_id=ids(),
        settings=CorrelationSettings(window_minutes=5, max_span_minutes=LONG_SPAN),
        allowed_lateness=lateness,
    )
    # Per key, sessions still held are more than a window apart and end within window +
    # lateness of the watermark; one more may be a too-late alert's fresh session.
    bound = 3 * ((window + lateness) // window + 2)
    clock = 0
    opened: set[str] = set()
    retired: Counter[str] = Counter()
    for n, (asset, advance, late) in enumerate(steps):
        clock += advance
        at = timedelta(microseconds=max(clock - late, 0))
        result = c.observe(make_alert(f"a{n}", at, asset=asset), NOW)
        if result.opened and result.incident_id is not None:
            opened.add(result.incident_id)
        retired.update(i.id for i in result.retired)
        assert c.open_count <= bound
    assert max(retired.values(), default=0) <= 1
    still_open = {i.id for i in c.open_incidents()}
    assert still_open | set(retired) == opened
    assert not still_open & set(retired)
