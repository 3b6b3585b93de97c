"""The in-memory correlation engine, rule by rule (SPEC §3)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from alertwhisperer_core._correlator import CorrelationResult, Correlator
from alertwhisperer_core._models import AlertStatus, IncidentStatus, Resolution, Severity
from alertwhisperer_core._settings import CorrelationSettings
from alertwhisperer_core.errors import ValidationError

from .correlation_reference import T0, make_alert

MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
US = timedelta(microseconds=1)
NOW = T0 + 60 * MIN
RESOLVED = AlertStatus.RESOLVED


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"inc-{next(counter)}"


def correlator(
    settings: CorrelationSettings | Callable[[str], CorrelationSettings] | None = None,
    allowed_lateness: timedelta | None = None,
) -> Correlator:
    return Correlator(
        new_id=ids(),
        settings=settings or CorrelationSettings(window_minutes=15),
        allowed_lateness=allowed_lateness,
    )


def feed(
    c: Correlator, *offsets: timedelta, prefix: str = "a", **fields: Any
) -> list[CorrelationResult]:
    """Observe one alert per offset, named ``{prefix}1``, ``{prefix}2``, ... in that order."""
    return [
        c.observe(make_alert(f"{prefix}{i}", at, **fields), NOW)
        for i, at in enumerate(offsets, start=1)
    ]


# --- the guide's example and the basic session rule ------------------------------------------


def test_guide_disk_full_example_is_one_incident_of_three_alerts() -> None:
    c = correlator()
    first, second, third = feed(c, 0 * MIN, 2 * MIN, 7 * MIN)
    assert first.opened
    assert first.activated
    assert second.incident_id == third.incident_id == first.incident_id
    assert not second.opened
    assert not third.activated
    assert third.alert_count == 3
    incident = c.snapshot(first.incident_id or "")
    assert incident.alert_ids == ("a1", "a2", "a3")
    assert incident.status is IncidentStatus.NEW
    assert (incident.first_event_at, incident.last_event_at) == (T0, T0 + 7 * MIN)
    assert incident.key == "srv-app-01|disk_full"


def test_gap_exactly_the_window_joins() -> None:
    first, second = feed(correlator(), 0 * MIN, 15 * MIN)
    assert second.incident_id == first.incident_id


def test_gap_a_microsecond_over_the_window_opens_a_new_incident() -> None:
    first, second = feed(correlator(), 0 * MIN, 15 * MIN + US)
    assert second.opened
    assert second.incident_id != first.incident_id


def test_sub_second_precision_decides_the_window() -> None:
    inside = feed(correlator(), 0 * MIN, 15 * MIN - SEC / 2)
    outside = feed(correlator(), 0 * MIN, 15 * MIN + SEC / 2)
    assert inside[1].incident_id == inside[0].incident_id
    assert outside[1].incident_id != outside[0].incident_id


def test_window_is_measured_from_the_previous_alert_not_the_first() -> None:
    results = feed(correlator(), 0 * MIN, 10 * MIN, 20 * MIN, 30 * MIN)
    assert {r.incident_id for r in results} == {results[0].incident_id}


def test_different_keys_never_share_an_incident() -> None:
    c = correlator()
    a = c.observe(make_alert("a1", 0 * MIN, asset="web"), NOW)
    b = c.observe(make_alert("a2", 1 * MIN, asset="db"), NOW)
    other_company = c.observe(make_alert("a3", 2 * MIN, asset="web", company="globex"), NOW)
    assert len({a.incident_id, b.incident_id, other_company.incident_id}) == 3


def test_late_alert_joins_the_incident_it_falls_into() -> None:
    c = correlator()
    first, _ = feed(c, 10 * MIN, 20 * MIN)
    late = c.observe(make_alert("late", 0 * MIN), NOW)
    assert late.incident_id == first.incident_id
    assert c.snapshot(late.incident_id or "").first_event_at == T0


def test_incident_takes_the_highest_severity_and_every_tool() -> None:
    c = correlator()
    c.observe(make_alert("a1", 0 * MIN, severity=Severity.LOW, tool="zabbix"), NOW)
    c.observe(make_alert("a2", 1 * MIN, severity=Severity.HIGH, tool="datadog"), NOW)
    last = c.observe(make_alert("a3", 2 * MIN, severity=Severity.MEDIUM, tool="zabbix"), NOW)
    assert last.severity is Severity.HIGH
    assert last.tool_source_count == 2
    assert c.snapshot(last.incident_id or "").tool_sources == {"zabbix", "datadog"}


def test_incident_counts_each_tool_once() -> None:
    c = correlator()
    for n, tool in enumerate(["zabbix", "datadog", "cloudwatch", "datadog", "zabbix"]):
        last = c.observe(make_alert(f"a{n}", n * MIN, tool=tool), NOW)
    assert last.tool_source_count == 3


def test_merge_keeps_the_highest_severity_of_both_incidents() -> None:
    c = correlator()
    c.observe(make_alert("a1", 0 * MIN, severity=Severity.LOW), NOW)
    c.observe(make_alert("a2", 20 * MIN, severity=Severity.CRITICAL, tool="datadog"), NOW)
    bridge = c.observe(make_alert("bridge", 10 * MIN, severity=Severity.MEDIUM), NOW)
    assert bridge.severity is Severity.CRITICAL
    assert bridge.tool_source_count == 2


def test_merge_keeps_the_firing_fingerprints_of_both_incidents() -> None:
    c = correlator()
    c.observe(make_alert("a1", 0 * MIN, fingerprint="x"), NOW)
    c.observe(make_alert("a2", 20 * MIN, fingerprint="y"), NOW)
    bridge = c.observe(make_alert("bridge", 10 * MIN, fingerprint="x"), NOW)
    assert c.snapshot(bridge.incident_id or "").firing_fingerprints == {"x", "y"}


def test_merge_into_a_smaller_incident_keeps_its_alerts_first() -> None:
    c = correlator()
    c.observe(make_alert("e1", 0 * MIN), NOW)
    feed(c, 20 * MIN, 21 * MIN, 22 * MIN, prefix="l")
    bridge = c.observe(make_alert("bridge", 10 * MIN), NOW)
    assert c.snapshot(bridge.incident_id or "").alert_ids == ("e1", "l1", "l2", "l3", "bridge")


def test_incident_created_at_is_the_now_it_opened_at() -> None:
    c = correlator()
    opened = c.observe(make_alert("a1", 0 * MIN), NOW)
    joined = c.observe(make_alert("a2", 1 * MIN), NOW + 5 * MIN)
    assert opened.created_at == joined.created_at == NOW


# --- merges ----------------------------------------------------------------------------------


def test_late_bridging_alert_merges_the_later_incident_into_the_earlier() -> None:
    c = correlator()
    early, late = feed(c, 0 * MIN, 20 * MIN)
    assert early.incident_id != late.incident_id
    bridge = c.observe(make_alert("bridge", 10 * MIN), NOW)
    assert bridge.incident_id == early.incident_id
    assert bridge.merged == (late.incident_id,)
    assert bridge.alert_count == 3
    assert c.snapshot(early.incident_id or "").alert_ids == ("a1", "a2", "bridge")


def test_merged_incident_records_merged_into_and_leaves_memory() -> None:
    c = correlator()
    early, late = feed(c, 0 * MIN, 20 * MIN)
    bridge = c.observe(make_alert("bridge", 10 * MIN), NOW)
    (absorbed,) = bridge.retired
    assert absorbed.id == late.incident_id
    assert absorbed.merged_into == early.incident_id
    assert absorbed.alert_ids == ("a2",)
    assert not absorbed.is_open
    with pytest.raises(KeyError):
        c.snapshot(late.incident_id or "")
    assert c.open_count == 1


def test_alert_within_reach_of_only_one_incident_merges_nothing() -> None:
    c = correlator()
    feed(c, 0 * MIN, 40 * MIN)
    result = c.observe(make_alert("x", 10 * MIN), NOW)
    assert result.merged == ()
    assert c.open_count == 2


def test_visible_incident_survives_a_merge_with_an_earlier_pending_group() -> None:
    c = correlator(CorrelationSettings(window_minutes=15, min_alerts=2))
    (pending,) = feed(c, 0 * MIN, prefix="p")
    visible = feed(c, 20 * MIN, 21 * MIN, prefix="v")
    assert visible[1].activated
    bridge = c.observe(make_alert("bridge", 10 * MIN), NOW)
    assert bridge.incident_id == visible[0].incident_id
    assert bridge.merged == (pending.incident_id,)
    assert not bridge.activated  # already visible: no second notification
    assert bridge.retired[0].merged_into == visible[0].incident_id
    assert bridge.retired[0].status is IncidentStatus.PENDING
    assert c.snapshot(bridge.incident_id or "").first_event_at == T0


def test_two_pending_groups_merged_past_min_alerts_activate_once() -> None:
    c = correlator(CorrelationSettings(window_minutes=15, min_alerts=3))
    early, late = feed(c, 0 * MIN, 20 * MIN)
    assert early.pending
    assert late.pending
    bridge = c.observe(make_alert("bridge", 10 * MIN), NOW)
    assert bridge.incident_id == early.incident_id
    assert bridge.activated
    assert not bridge.pending


def test_widened_window_lets_one_alert_merge_three_incidents() -> None:
    current = {"s": CorrelationSettings(window_minutes=10)}
    c = correlator(lambda _company: current["s"])
    results = feed(c, 0 * MIN, 15 * MIN, 30 * MIN)
    assert len({r.incident_id for r in results}) == 3
    current["s"] = CorrelationSettings(window_minutes=20)
    bridge = c.observe(make_alert("bridge", 15 * MIN), NOW)
    assert bridge.incident_id == results[0].incident_id
    assert set(bridge.merged) == {results[1].incident_id, results[2].incident_id}
    assert c.open_count == 1


# --- max_span --------------------------------------------------------------------------------

SPAN = CorrelationSettings(window_minutes=15, max_span_minutes=60)


def test_alert_that_would_pass_max_span_opens_a_new_incident() -> None:
    results = feed(correlator(SPAN), 0 * MIN, 15 * MIN, 30 * MIN, 45 * MIN, 60 * MIN, 75 * MIN)
    assert len({r.incident_id for r in results[:5]}) == 1
    assert results[5].opened


def test_incident_span_may_equal_max_span() -> None:
    c = correlator(SPAN)
    results = feed(c, 0 * MIN, 15 * MIN, 30 * MIN, 45 * MIN, 60 * MIN)
    incident = c.snapshot(results[0].incident_id or "")
    assert incident.last_event_at - incident.first_event_at == 60 * MIN


def test_bridge_past_max_span_is_not_merged() -> None:
    c = correlator(SPAN)
    early = feed(c, 0 * MIN, 15 * MIN, 30 * MIN, prefix="e")
    late = feed(c, 50 * MIN, 65 * MIN, prefix="l")
    bridge = c.observe(make_alert("bridge", 44 * MIN), NOW)
    assert bridge.merged == ()
    assert bridge.incident_id == late[0].incident_id  # the nearer one
    assert early[0].incident_id != late[0].incident_id
    assert c.open_count == 2


def test_alert_inside_an_incident_joins_it_after_max_span_is_lowered() -> None:
    current = {"s": CorrelationSettings(window_minutes=15)}
    c = correlator(lambda _company: current["s"])
    results = feed(c, 0 * MIN, 15 * MIN, 30 * MIN, 45 * MIN, 60 * MIN, 75 * MIN, 90 * MIN)
    current["s"] = CorrelationSettings(window_minutes=15, max_span_minutes=60)
    inside = c.observe(make_alert("inside", 50 * MIN), NOW)
    after = c.observe(make_alert("after", 100 * MIN), NOW)
    assert inside.incident_id == results[0].incident_id
    assert after.opened


# --- resolution ------------------------------------------------------------------------------


def test_resolved_alert_resolves_the_incident_with_source_recovered() -> None:
    c = correlator()
    first, _ = feed(c, 0 * MIN, 1 * MIN)
    result = c.observe(make_alert("ok", 5 * MIN, status=RESOLVED), NOW + MIN)
    assert result.incident_id == first.incident_id
    assert result.resolved
    (final,) = result.retired
    assert final.status is IncidentStatus.RESOLVED
    assert final.resolution is Resolution.SOURCE_RECOVERED
    assert final.resolved_at == NOW + MIN
    assert final.alert_ids == ("a1", "a2", "ok")
    assert final.alert_count == 2  # a recovery is listed but is not a duplicate
    assert c.open_count == 0


def test_resolved_incident_is_never_reopened() -> None:
    c = correlator()
    (first,) = feed(c, 0 * MIN)
    c.observe(make_alert("ok", 1 * MIN, status=RESOLVED), NOW)
    again = c.observe(make_alert("again", 2 * MIN), NOW)
    assert again.opened
    assert again.incident_id != first.incident_id


def test_resolved_alert_with_a_fingerprint_resolves_only_that_fingerprint() -> None:
    c = correlator()
    c.observe(make_alert("x1", 0 * MIN, fingerprint="x"), NOW)
    c.observe(make_alert("y1", 1 * MIN, fingerprint="y"), NOW)
    partial = c.observe(make_alert("x-ok", 2 * MIN, fingerprint="x", status=RESOLVED), NOW)
    assert partial.incident_id is not None
    assert not partial.resolved
    assert c.snapshot(partial.incident_id).firing_fingerprints == {"y"}
    done = c.observe(make_alert("y-ok", 3 * MIN, fingerprint="y", status=RESOLVED), NOW)
    assert done.resolved
    assert done.incident_id == partial.incident_id


def test_resolved_alert_with_an_unknown_fingerprint_joins_nothing() -> None:
    c = correlator()
    c.observe(make_alert("x1", 0 * MIN, fingerprint="x"), NOW)
    result = c.observe(make_alert("z-ok", 1 * MIN, fingerprint="z", status=RESOLVED), NOW)
    assert result.incident_id is None
    assert c.open_count == 1


def test_fingerprinted_recovery_leaves_alerts_without_fingerprint_firing() -> None:
    c = correlator()
    c.observe(make_alert("x1", 0 * MIN, fingerprint="x"), NOW)
    c.observe(make_alert("plain", 1 * MIN), NOW)
    result = c.observe(make_alert("x-ok", 2 * MIN, fingerprint="x", status=RESOLVED), NOW)
    assert not result.resolved
    assert c.snapshot(result.incident_id or "").firing_fingerprints == {""}


def test_recovery_without_fingerprint_resolves_every_open_incident_of_the_key() -> None:
    c = correlator()
    early, late = feed(c, 0 * MIN, 40 * MIN, fingerprint="x")
    result = c.observe(make_alert("ok", 50 * MIN, status=RESOLVED), NOW)
    assert result.incident_id == late.incident_id  # listed with the latest it resolved
    assert result.resolved
    assert {i.id for i in result.retired} == {early.incident_id, late.incident_id}
    assert all(i.status is IncidentStatus.RESOLVED for i in result.retired)
    assert c.open_count == 0


def test_resolved_alert_without_an_open_counterpart_joins_no_incident() -> None:
    c = correlator()
    result = c.observe(make_alert("ok", 0 * MIN, status=RESOLVED), NOW)
    assert result.incident_id is None
    assert not result.opened
    assert not result.resolved
    assert result.alert_count == 0
    assert c.open_count == 0


def test_firing_alert_after_a_partial_recovery_keeps_the_incident_open() -> None:
    c = correlator()
    c.observe(make_alert("x1", 0 * MIN, fingerprint="x"), NOW)
    c.observe(make_alert("y1", 1 * MIN, fingerprint="y"), NOW)
    c.observe(make_alert("x-ok", 2 * MIN, fingerprint="x", status=RESOLVED), NOW)
    refire = c.observe(make_alert("x2", 3 * MIN, fingerprint="x"), NOW)
    c.observe(make_alert("y-ok", 4 * MIN, fingerprint="y", status=RESOLVED), NOW)
    assert c.snapshot(refire.incident_id or "").firing_fingerprints == {"x"}


def test_pending_group_that_recovers_resolves_without_activating() -> None:
    c = correlator(CorrelationSettings(min_alerts=3))
    (first,) = feed(c, 0 * MIN)
    result = c.observe(make_alert("ok", 1 * MIN, status=RESOLVED), NOW)
    assert result.incident_id == first.incident_id
    assert result.resolved
    assert result.pending
    assert not result.activated


# --- min_alerts and auto_correlate -----------------------------------------------------------


def test_group_stays_pending_until_min_alerts_then_activates_once() -> None:
    c = correlator(CorrelationSettings(window_minutes=15, min_alerts=3))
    results = feed(c, 0 * MIN, 1 * MIN, 2 * MIN, 3 * MIN)
    assert [r.pending for r in results] == [True, True, False, False]
    assert [r.activated for r in results] == [False, False, True, False]
    assert results[0].opened
    assert not results[0].activated
    assert c.snapshot(results[0].incident_id or "").status is IncidentStatus.NEW


def test_pending_group_is_listed_as_pending() -> None:
    c = correlator(CorrelationSettings(min_alerts=2))
    feed(c, 0 * MIN)
    (incident,) = c.open_incidents()
    assert incident.status is IncidentStatus.PENDING


def test_auto_correlate_off_makes_every_firing_alert_its_own_incident() -> None:
    c = correlator(CorrelationSettings(auto_correlate=False))
    results = feed(c, 0 * MIN, 0 * MIN, 1 * MIN)
    assert all(r.opened and r.activated and r.alert_count == 1 for r in results)
    assert len({r.incident_id for r in results}) == 3


def test_auto_correlate_off_ignores_min_alerts() -> None:
    c = correlator(CorrelationSettings(auto_correlate=False, min_alerts=5))
    (result,) = feed(c, 0 * MIN)
    assert result.activated
    assert not result.pending


def test_auto_correlate_off_incidents_still_resolve() -> None:
    c = correlator(CorrelationSettings(auto_correlate=False))
    feed(c, 0 * MIN, 1 * MIN)
    result = c.observe(make_alert("ok", 2 * MIN, status=RESOLVED), NOW)
    assert result.resolved
    assert len(result.retired) == 2
    assert c.open_count == 0


def test_recovery_of_one_of_several_simultaneous_single_alert_incidents() -> None:
    c = correlator(CorrelationSettings(auto_correlate=False))
    results = [c.observe(make_alert(f, 0 * MIN, fingerprint=f), NOW) for f in ("x", "y", "z")]
    result = c.observe(make_alert("y-ok", 1 * MIN, fingerprint="y", status=RESOLVED), NOW)
    assert result.incident_id == results[1].incident_id
    assert result.resolved
    assert {i.id for i in c.open_incidents()} == {results[0].incident_id, results[2].incident_id}


def test_incidents_opened_with_auto_correlate_off_are_not_joined_later() -> None:
    current = {"s": CorrelationSettings(auto_correlate=False)}
    c = correlator(lambda _company: current["s"])
    (single,) = feed(c, 0 * MIN)
    current["s"] = CorrelationSettings()
    later = c.observe(make_alert("later", 1 * MIN), NOW)
    assert later.opened
    assert later.incident_id != single.incident_id


def test_settings_function_is_asked_per_company() -> None:
    windows = {"acme": 5, "globex": 30}
    c = correlator(lambda company: CorrelationSettings(window_minutes=windows[company]))
    acme = [c.observe(make_alert(f"a{i}", i * 10 * MIN), NOW) for i in range(2)]
    globex = [c.observe(make_alert(f"g{i}", i * 10 * MIN, company="globex"), NOW) for i in range(2)]
    assert acme[0].incident_id != acme[1].incident_id
    assert globex[0].incident_id == globex[1].incident_id


def test_settings_function_may_return_a_new_object_for_every_alert() -> None:
    c = correlator(lambda _company: CorrelationSettings(window_minutes=15))
    results = [c.observe(make_alert(f"a{n}", n * SEC), NOW) for n in range(5000)]
    assert {r.incident_id for r in results} == {results[0].incident_id}
    assert results[-1].alert_count == 5000


def test_aggregation_key_setting_groups_by_its_fields() -> None:
    c = correlator(CorrelationSettings(aggregation_key="signature"))
    a = c.observe(make_alert("a1", 0 * MIN, asset="web"), NOW)
    b = c.observe(make_alert("a2", 1 * MIN, asset="db"), NOW)
    assert a.incident_id == b.incident_id
    assert c.snapshot(a.incident_id or "").key == "disk_full"


# --- retirement ------------------------------------------------------------------------------


def test_session_retires_once_the_watermark_passes_window_plus_lateness() -> None:
    c = correlator(allowed_lateness=5 * MIN)
    (old,) = feed(c, 0 * MIN)
    at_limit = c.observe(make_alert("other", 20 * MIN, asset="db"), NOW)
    assert at_limit.retired == ()
    past = c.observe(make_alert("other2", 20 * MIN + US, asset="db"), NOW)
    assert [i.id for i in past.retired] == [old.incident_id]
    assert past.retired[0].status is IncidentStatus.NEW
    with pytest.raises(KeyError):
        c.snapshot(old.incident_id or "")


def test_session_that_moved_on_is_not_retired_early() -> None:
    c = correlator(allowed_lateness=5 * MIN)
    first, _ = feed(c, 0 * MIN, 15 * MIN)
    result = c.observe(make_alert("other", 21 * MIN, asset="db"), NOW)
    assert result.retired == ()
    assert c.snapshot(first.incident_id or "").alert_count == 2


def test_alert_later_than_the_allowed_lateness_opens_a_new_incident() -> None:
    c = correlator(allowed_lateness=5 * MIN)
    (first,) = feed(c, 0 * MIN)
    c.observe(make_alert("other", 30 * MIN, asset="db"), NOW)
    late = c.observe(make_alert("late", 1 * MIN), NOW)
    assert late.opened
    assert late.incident_id != first.incident_id


def test_retired_session_is_reported_exactly_once() -> None:
    c = correlator(allowed_lateness=MIN)
    feed(c, 0 * MIN)
    reports = [
        c.observe(make_alert(f"o{i}", (20 + i) * MIN, asset="db"), NOW).retired for i in range(5)
    ]
    assert sum(len(r) for r in reports) == 1


def test_watermarks_are_per_company() -> None:
    c = correlator(allowed_lateness=MIN)
    feed(c, 0 * MIN)
    other = c.observe(make_alert("g", 300 * MIN, company="globex"), NOW)
    assert other.retired == ()
    assert c.open_count == 2


def test_no_allowed_lateness_never_retires() -> None:
    c = correlator(allowed_lateness=None)
    feed(c, 0 * MIN)
    result = c.observe(make_alert("other", 10_000 * MIN, asset="db"), NOW)
    assert result.retired == ()
    assert c.open_count == 2


def test_default_allowed_lateness_is_five_minutes() -> None:
    c = Correlator(new_id=ids())
    feed(c, 0 * MIN)
    assert c.observe(make_alert("o1", 20 * MIN, asset="db"), NOW).retired == ()
    assert len(c.observe(make_alert("o2", 20 * MIN + US, asset="db"), NOW).retired) == 1


# --- reading state -----------------------------------------------------------------------------


def test_open_incidents_lists_every_session_in_memory() -> None:
    c = correlator()
    feed(c, 0 * MIN, 30 * MIN)
    assert [i.alert_ids for i in c.open_incidents()] == [("a1",), ("a2",)]
    assert c.open_count == 2


def test_snapshot_of_an_unknown_incident_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        correlator().snapshot("nope")


# --- bad input -------------------------------------------------------------------------------


def test_naive_event_time_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        correlator().observe(make_alert("a1", datetime(2025, 1, 1)), NOW)
    assert caught.value.errors[0]["field"] == "event_time"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        correlator().observe(make_alert("a1", 0 * MIN), datetime(2025, 1, 1))
    assert caught.value.errors[0]["field"] == "now"


@pytest.mark.parametrize("lateness", [timedelta(seconds=-1), 5])
def test_invalid_allowed_lateness_is_refused(lateness: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Correlator(new_id=ids(), allowed_lateness=lateness)  # type: ignore[arg-type]
    assert caught.value.errors[0]["field"] == "allowed_lateness"


def test_settings_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(ValidationError):
        Correlator(new_id=ids(), settings={"window_minutes": 5})  # type: ignore[arg-type]


def test_settings_function_returning_the_wrong_type_is_refused() -> None:
    c = Correlator(new_id=ids(), settings=lambda _company: {"window_minutes": 5})  # type: ignore[arg-type,return-value]
    with pytest.raises(ValidationError):
        c.observe(make_alert("a1", 0 * MIN), NOW)


def test_new_id_repeating_an_open_incident_id_is_refused() -> None:
    c = Correlator(new_id=lambda: "same")
    c.observe(make_alert("a1", 0 * MIN, asset="web"), NOW)
    with pytest.raises(ValidationError) as caught:
        c.observe(make_alert("a2", 0 * MIN, asset="db"), NOW)
    assert caught.value.errors[0]["field"] == "new_id"
    assert c.open_count == 1


def test_new_id_must_be_callable() -> None:
    with pytest.raises(ValidationError):
        Correlator(new_id="inc-1")  # type: ignore[arg-type]
