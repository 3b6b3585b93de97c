"""The pure correlation planner and the aggregation key (SPEC §3)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._correlation import (
    CorrelationPlan,
    SessionView,
    aggregation_key,
    candidate_range,
    index_function,
    key_text,
    plan_correlation,
)
from alertwhisperer_core._models import AlertStatus, Severity
from alertwhisperer_core._settings import CorrelationSettings
from alertwhisperer_core.errors import ValidationError

from .correlation_reference import T0, make_alert

MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
SETTINGS = CorrelationSettings(window_minutes=15)
WINDOW = SETTINGS.window


def view(incident_id: str, first: timedelta, last: timedelta, pending: bool = False) -> SessionView:
    return SessionView(incident_id, T0 + first, T0 + last, pending)


# --- aggregation key -----------------------------------------------------------------------


def test_default_key_joins_asset_and_signature() -> None:
    alert = make_alert("a1", MIN, asset="srv-app-01", signature="disk_full")
    assert aggregation_key(alert, "asset|signature") == "srv-app-01|disk_full"


def test_key_aliases_name_the_same_fields() -> None:
    alert = make_alert("a1", MIN, asset="web", tool="zabbix")
    assert aggregation_key(alert, "asset|tool") == aggregation_key(alert, "asset_name|tool_source")
    assert aggregation_key(alert, "asset|tool") == "web|zabbix"


def test_key_gives_enum_fields_as_plain_values() -> None:
    alert = make_alert("a1", MIN, severity=Severity.HIGH, status=AlertStatus.RESOLVED)
    key = aggregation_key(alert, "severity|status")
    assert key == "high|resolved"
    assert type(key) is str


def test_key_of_one_field_is_that_value() -> None:
    assert aggregation_key(make_alert("a1", MIN, signature="cpu"), "signature") == "cpu"


def test_key_reads_labels_and_gives_empty_for_a_missing_label() -> None:
    alert = make_alert("a1", MIN, labels={"team": "db"})
    assert aggregation_key(alert, "label:team|label:region|signature") == "db||disk_full"


def test_key_gives_empty_for_a_missing_fingerprint() -> None:
    assert aggregation_key(make_alert("a1", MIN), "fingerprint|asset") == "|srv-app-01"
    with_fp = make_alert("a1", MIN, fingerprint="abc")
    assert aggregation_key(with_fp, "fingerprint|asset") == "abc|srv-app-01"


def test_key_escapes_separators_inside_values() -> None:
    left = make_alert("a1", MIN, asset="a|b", signature="c")
    right = make_alert("a2", MIN, asset="a", signature="b|c")
    assert aggregation_key(left, "asset|signature") == "a\\|b|c"
    assert aggregation_key(right, "asset|signature") == "a|b\\|c"


def test_key_escapes_backslashes_so_escapes_cannot_be_forged() -> None:
    forged = make_alert("a1", MIN, asset="a\\", signature="b")
    assert aggregation_key(forged, "asset|signature") == "a\\\\|b"
    assert aggregation_key(forged, "asset|signature") != aggregation_key(
        make_alert("a2", MIN, asset="a|b", signature=""), "asset"
    )


def test_index_tuple_starts_with_the_company() -> None:
    alert = make_alert("a1", MIN, company="globex", asset="db", signature="down")
    assert index_function("asset|signature")(alert) == ("globex", "db", "down")


def test_index_function_is_compiled_once_per_spec() -> None:
    assert index_function("asset|label:x") is index_function("asset|label:x")


@pytest.mark.parametrize("spec", ["", "  ", "asset|", "asset|host", "label:", "Asset"])
def test_unknown_key_fields_are_refused_naming_the_setting(spec: str) -> None:
    with pytest.raises(ValidationError) as caught:
        aggregation_key(make_alert("a1", MIN), spec)
    assert caught.value.errors[0]["field"] == "correlation.aggregation_key"


_values = st.text(alphabet="ab|\\", max_size=4)


@given(st.lists(st.tuples(_values, _values), min_size=2, max_size=2, unique=True))
def test_different_index_tuples_never_share_a_key(pairs: list[tuple[str, str]]) -> None:
    (a, b), (c, d) = pairs
    assert key_text(("co", a, b)) != key_text(("co", c, d))


# --- candidate range -------------------------------------------------------------------------


def test_candidate_range_is_one_window_each_side() -> None:
    assert candidate_range(T0, SETTINGS) == (T0 - WINDOW, T0 + WINDOW)


def test_candidate_range_refuses_a_naive_time() -> None:
    with pytest.raises(ValidationError) as caught:
        candidate_range(datetime(2025, 1, 1), SETTINGS)
    assert caught.value.errors[0]["field"] == "event_time"


# --- planning --------------------------------------------------------------------------------


def test_no_candidates_opens_a_new_incident() -> None:
    plan = plan_correlation(T0, [], SETTINGS)
    assert plan == CorrelationPlan(join=None, merge=(), open_new=True)


def test_alert_within_the_window_joins() -> None:
    plan = plan_correlation(T0 + 20 * MIN, [view("i1", 0 * MIN, 10 * MIN)], SETTINGS)
    assert plan == CorrelationPlan(join="i1")
    assert not plan.open_new


def test_gap_equal_to_the_window_still_joins() -> None:
    plan = plan_correlation(T0 + 25 * MIN, [view("i1", 0 * MIN, 10 * MIN)], SETTINGS)
    assert plan.join == "i1"


def test_gap_a_microsecond_over_the_window_opens_a_new_incident() -> None:
    plan = plan_correlation(T0 + 25 * MIN + US, [view("i1", 0 * MIN, 10 * MIN)], SETTINGS)
    assert plan.open_new


def test_late_alert_before_an_incident_joins_it() -> None:
    plan = plan_correlation(T0 - 15 * MIN, [view("i1", 0 * MIN, 10 * MIN)], SETTINGS)
    assert plan.join == "i1"


def test_candidates_out_of_reach_are_ignored() -> None:
    far = [view("old", -60 * MIN, -40 * MIN), view("new", 40 * MIN, 50 * MIN)]
    assert plan_correlation(T0, far, SETTINGS).open_new


def test_bridging_alert_merges_the_later_incident_into_the_earlier() -> None:
    candidates = [view("late", 20 * MIN, 30 * MIN), view("early", -10 * MIN, 0 * MIN)]
    plan = plan_correlation(T0 + 10 * MIN, candidates, SETTINGS)
    assert plan == CorrelationPlan(join="early", merge=("late",))


def test_a_visible_incident_is_never_merged_into_a_pending_one() -> None:
    candidates = [view("early", -10 * MIN, 0 * MIN, pending=True), view("late", 20 * MIN, 30 * MIN)]
    plan = plan_correlation(T0 + 10 * MIN, candidates, SETTINGS)
    assert plan == CorrelationPlan(join="late", merge=("early",))


def test_pending_incidents_merge_into_the_earliest() -> None:
    candidates = [view("early", -10 * MIN, 0 * MIN, True), view("late", 20 * MIN, 30 * MIN, True)]
    plan = plan_correlation(T0 + 10 * MIN, candidates, SETTINGS)
    assert plan == CorrelationPlan(join="early", merge=("late",))


def test_candidate_order_does_not_change_the_plan() -> None:
    candidates = [
        view("a", -40 * MIN, -30 * MIN),
        view("b", -10 * MIN, 0 * MIN),
        view("c", 20 * MIN, 30 * MIN),
        view("d", 60 * MIN, 70 * MIN),
    ]
    expected = plan_correlation(T0 + 10 * MIN, candidates, SETTINGS)
    shuffled = list(candidates)
    for seed in range(10):
        random.Random(seed).shuffle(shuffled)
        assert plan_correlation(T0 + 10 * MIN, shuffled, SETTINGS) == expected


def test_equal_first_times_are_ordered_by_incident_id() -> None:
    candidates = [view("z", 0 * MIN, 0 * MIN), view("m", 0 * MIN, 0 * MIN)]
    assert plan_correlation(T0, candidates, SETTINGS) == CorrelationPlan(join="m", merge=("z",))


def test_auto_correlate_off_opens_a_new_incident_even_within_the_window() -> None:
    settings = CorrelationSettings(auto_correlate=False)
    assert plan_correlation(T0, [view("i1", 0 * MIN, 0 * MIN)], settings).open_new


# --- max_span --------------------------------------------------------------------------------

SPAN = CorrelationSettings(window_minutes=15, max_span_minutes=60)


def test_alert_that_would_stretch_the_span_past_max_opens_a_new_incident() -> None:
    plan = plan_correlation(T0 + 60 * MIN + US, [view("i1", 0 * MIN, 50 * MIN)], SPAN)
    assert plan.open_new


def test_span_exactly_max_span_still_joins() -> None:
    assert plan_correlation(T0 + 60 * MIN, [view("i1", 0 * MIN, 50 * MIN)], SPAN).join == "i1"


def test_late_alert_that_would_stretch_the_span_opens_a_new_incident() -> None:
    plan = plan_correlation(T0 - 10 * MIN - US, [view("i1", 0 * MIN, 50 * MIN)], SPAN)
    assert plan.open_new


def test_bridge_past_max_span_is_not_merged_and_the_alert_joins_the_nearest() -> None:
    candidates = [view("early", 0 * MIN, 30 * MIN), view("late", 50 * MIN, 70 * MIN)]
    near_late = plan_correlation(T0 + 44 * MIN, candidates, SPAN)
    near_early = plan_correlation(T0 + 36 * MIN, candidates, SPAN)
    assert near_late == CorrelationPlan(join="late")
    assert near_early == CorrelationPlan(join="early")


def test_bridge_past_max_span_ties_go_to_the_earlier_incident() -> None:
    candidates = [view("early", 0 * MIN, 30 * MIN), view("late", 50 * MIN, 70 * MIN)]
    assert plan_correlation(T0 + 40 * MIN, candidates, SPAN) == CorrelationPlan(join="early")


def test_bridge_past_max_span_skips_a_candidate_the_alert_cannot_join() -> None:
    # Joining "early" alone would span 0..44 min but "late" is nearer; "late" would span
    # 44..110 min, past max_span, so the alert joins "early".
    candidates = [view("early", 0 * MIN, 30 * MIN), view("late", 50 * MIN, 110 * MIN)]
    assert plan_correlation(T0 + 44 * MIN, candidates, SPAN) == CorrelationPlan(join="early")


def test_bridge_that_neither_side_can_take_opens_a_new_incident() -> None:
    candidates = [view("early", 0 * MIN, 60 * MIN), view("late", 70 * MIN, 130 * MIN)]
    assert plan_correlation(T0 + 65 * MIN, candidates, SPAN).open_new


def test_alert_inside_an_incident_joins_it_even_past_a_lowered_max_span() -> None:
    # "wide" spans 90 minutes from before max_span was lowered to 60; "next" is within reach.
    candidates = [view("wide", 0 * MIN, 90 * MIN), view("next", 100 * MIN, 100 * MIN)]
    assert plan_correlation(T0 + 89 * MIN, candidates, SPAN) == CorrelationPlan(join="wide")
    assert plan_correlation(T0 + 45 * MIN, candidates[:1], SPAN) == CorrelationPlan(join="wide")


# --- bad input -------------------------------------------------------------------------------


def test_duplicate_candidate_ids_are_refused() -> None:
    twice = [view("i1", 0 * MIN, 0 * MIN), view("i1", 1 * MIN, 1 * MIN)]
    with pytest.raises(ValidationError) as caught:
        plan_correlation(T0, twice, SETTINGS)
    assert caught.value.errors[0]["field"] == "candidates"


def test_planning_refuses_a_naive_event_time() -> None:
    with pytest.raises(ValidationError):
        plan_correlation(datetime(2025, 1, 1), [], SETTINGS)


def test_session_view_refuses_naive_times() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionView("i1", datetime(2025, 1, 1), T0)
    assert caught.value.errors[0]["field"] == "first_event_at"


def test_session_view_refuses_last_before_first() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionView("i1", T0, T0 - US)
    assert caught.value.errors[0]["field"] == "last_event_at"


def test_plan_without_a_join_cannot_claim_to_join() -> None:
    with pytest.raises(ValidationError):
        CorrelationPlan(join=None, open_new=False)


def test_plan_without_a_join_cannot_merge() -> None:
    with pytest.raises(ValidationError):
        CorrelationPlan(join=None, merge=("i2",))


def test_plan_with_a_join_cannot_open_new() -> None:
    with pytest.raises(ValidationError):
        CorrelationPlan(join="i1", open_new=True)
