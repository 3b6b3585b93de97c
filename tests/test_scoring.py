"""Priority score: every term, the caps, the guide's examples, and the score's bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._models import Asset, Incident, IncidentStatus, Severity
from alertwhisperer_core._scoring import (
    MAX_SCORE,
    SEVERITY_BASE,
    PriorityScore,
    priority_score,
    score_breakdown,
    score_incident,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@attrs.frozen
class Args:
    """One set of scoring inputs, passed to both the fast path and the breakdown."""

    severity: Severity = Severity.LOW
    asset_is_critical: bool = False
    alert_count: int = 1
    tool_source_count: int = 1
    opened_at: datetime = NOW
    now: datetime = NOW

    def fast(self) -> int:
        return priority_score(
            severity=self.severity,
            asset_is_critical=self.asset_is_critical,
            alert_count=self.alert_count,
            tool_source_count=self.tool_source_count,
            opened_at=self.opened_at,
            now=self.now,
        )

    def full(self) -> PriorityScore:
        return score_breakdown(
            severity=self.severity,
            asset_is_critical=self.asset_is_critical,
            alert_count=self.alert_count,
            tool_source_count=self.tool_source_count,
            opened_at=self.opened_at,
            now=self.now,
        )


def score(
    severity: Severity = Severity.LOW,
    *,
    critical_asset: bool = False,
    alerts: int = 1,
    tools: int = 1,
    age: timedelta = timedelta(0),
) -> PriorityScore:
    """Breakdown for the given inputs, checked against the fast path on the way."""
    args = Args(severity, critical_asset, alerts, tools, NOW - age, NOW)
    result = args.full()
    assert args.fast() == result.score
    return result


# --- each term -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "base"),
    [(Severity.CRITICAL, 90), (Severity.HIGH, 60), (Severity.MEDIUM, 30), (Severity.LOW, 10)],
)
def test_severity_sets_the_base(severity: Severity, base: int) -> None:
    assert SEVERITY_BASE[severity] == base
    assert score(severity).score == base
    assert score(severity).breakdown["severity_base"] == base


def test_severity_base_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        SEVERITY_BASE[Severity.LOW] = 99  # type: ignore[index]


def test_critical_asset_adds_twenty() -> None:
    result = score(critical_asset=True)
    assert result.breakdown["critical_asset"] == 20
    assert result.score == 30


def test_single_alert_has_no_duplicate_points() -> None:
    assert score(alerts=1).breakdown["duplicates"] == 0


@pytest.mark.parametrize(("alerts", "points"), [(2, 2), (3, 4), (6, 10), (10, 18), (11, 20)])
def test_each_duplicate_adds_two(alerts: int, points: int) -> None:
    assert score(alerts=alerts).breakdown["duplicates"] == points


@pytest.mark.parametrize("alerts", [12, 80, 1_000_000])
def test_duplicate_points_stop_at_twenty(alerts: int) -> None:
    assert score(alerts=alerts).breakdown["duplicates"] == 20


@pytest.mark.parametrize(("tools", "bonus"), [(0, 0), (1, 0), (2, 10), (5, 10)])
def test_two_or_more_tools_add_ten(tools: int, bonus: int) -> None:
    assert score(tools=tools).breakdown["multi_tool"] == bonus


@pytest.mark.parametrize(
    ("age", "decay"),
    [
        (timedelta(0), 0),
        (timedelta(minutes=59, seconds=59, microseconds=999_999), 0),
        (timedelta(hours=1), -1),
        (timedelta(hours=2, minutes=59), -2),
        (timedelta(hours=9, minutes=59), -9),
        (timedelta(hours=10), -10),
        (timedelta(hours=23, minutes=59), -10),
        (timedelta(days=1), -10),
        (timedelta(days=400), -10),
    ],
)
def test_age_decays_one_point_per_whole_hour_up_to_ten(age: timedelta, decay: int) -> None:
    assert score(Severity.CRITICAL, age=age).breakdown["age_decay"] == decay


@pytest.mark.parametrize(
    "ahead", [timedelta(microseconds=1), timedelta(hours=3), timedelta(days=2)]
)
def test_incident_opened_after_now_has_no_decay(ahead: timedelta) -> None:
    assert score(Severity.HIGH, age=-ahead).breakdown["age_decay"] == 0


def test_breakdown_lists_the_five_terms_in_order() -> None:
    assert list(score().breakdown) == [
        "severity_base",
        "critical_asset",
        "duplicates",
        "multi_tool",
        "age_decay",
    ]


def test_as_dict_is_the_api_shape() -> None:
    result = score(Severity.HIGH, alerts=2)
    assert result.as_dict() == {
        "score": 62,
        "breakdown": {
            "severity_base": 60,
            "critical_asset": 0,
            "duplicates": 2,
            "multi_tool": 0,
            "age_decay": 0,
        },
    }


def test_lowest_score_is_zero_and_highest_is_140() -> None:
    assert score(Severity.LOW, age=timedelta(hours=10)).score == 0
    top = score(Severity.CRITICAL, critical_asset=True, alerts=11, tools=2)
    assert top.score == MAX_SCORE == 140


# --- bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("alerts", [0, -3])
def test_fewer_than_one_alert_is_refused(alerts: int) -> None:
    with pytest.raises(ValueError, match="alert_count"):
        score(alerts=alerts)


def test_fast_path_refuses_fewer_than_one_alert_too() -> None:
    with pytest.raises(ValueError, match="alert_count"):
        Args(alert_count=0).fast()


def test_negative_tool_count_is_refused() -> None:
    with pytest.raises(ValueError, match="tool_source_count"):
        score(tools=-1)


@given(
    st.integers(-3, 30),
    st.integers(-3, 4),
    st.sampled_from(list(Severity)),
    st.booleans(),
)
def test_fast_path_refuses_what_the_breakdown_refuses_with_its_message(
    alerts: int, tools: int, severity: Severity, critical: bool
) -> None:
    # The fast path checks each count in its own branch; the errors (and their order when
    # both counts are bad) must stay those of the breakdown.
    args = Args(severity, critical, alerts, tools)
    try:
        expected: object = args.full().score
    except ValueError as exc:
        expected = str(exc)
    try:
        got: object = args.fast()
    except ValueError as exc:
        got = str(exc)
    assert got == expected


def test_naive_now_cannot_be_compared_with_an_aware_opening_time() -> None:
    with pytest.raises(TypeError):
        Args(now=NOW.replace(tzinfo=None)).full()


# --- the guide's worked examples, as the formula computes them (docs/scoring.md) -------------


def test_guide_correlation_example_three_critical_alerts_scores_94_not_95() -> None:
    # "Priority Score: 95 (critical + 2 duplicates)": 90 + 2 x 2 = 94.
    assert score(Severity.CRITICAL, alerts=3).score == 94


def test_guide_database_example_with_five_alerts_scores_126_not_128() -> None:
    # "Duplicates: 5 alerts (+10)": 5 alerts are 4 duplicates, +8. 90 + 20 + 8 + 10 - 2.
    result = score(
        Severity.CRITICAL, critical_asset=True, alerts=5, tools=2, age=timedelta(hours=2)
    )
    assert result.score == 126


def test_guide_database_example_reaches_128_only_with_five_duplicates() -> None:
    # Reading "5" as duplicates (6 alerts) gives the guide's total.
    result = score(
        Severity.CRITICAL, critical_asset=True, alerts=6, tools=2, age=timedelta(hours=2)
    )
    assert result.score == 128


def test_guide_storm_incident_one_scores_130_on_a_critical_asset() -> None:
    # db-01, 80 critical alerts from Datadog: 90 + 20 + 20 (capped) = 130, as the guide says.
    assert score(Severity.CRITICAL, critical_asset=True, alerts=80).score == 130


def test_guide_storm_incident_two_scores_100_not_85() -> None:
    # db-02, 15 high alerts on a database server: 60 + 20 + 20 = 100 (80 if not critical).
    assert score(Severity.HIGH, critical_asset=True, alerts=15).score == 100
    assert score(Severity.HIGH, alerts=15).score == 80


def test_guide_storm_incident_three_scores_118_not_95() -> None:
    # db-03, 5 critical alerts: 90 + 20 + 8 = 118 (98 if not critical).
    assert score(Severity.CRITICAL, critical_asset=True, alerts=5).score == 118
    assert score(Severity.CRITICAL, alerts=5).score == 98


def test_guide_investigation_example_scores_140_fresh_not_130() -> None:
    # 15 correlated critical alerts from Datadog and Zabbix on "Database Down":
    # 90 + 20 + 20 + 10 = 140 on a critical asset (120 otherwise); 130 only at 10 h old.
    assert score(Severity.CRITICAL, critical_asset=True, alerts=15, tools=2).score == 140
    assert score(Severity.CRITICAL, alerts=15, tools=2).score == 120
    aged = score(
        Severity.CRITICAL, critical_asset=True, alerts=15, tools=2, age=timedelta(hours=10)
    )
    assert aged.score == 130


# --- incidents -------------------------------------------------------------------------------


INCIDENT = Incident(
    id="inc-1",
    company_id="acme",
    key="db-01|db_down",
    asset_name="db-01",
    signature="db_down",
    severity=Severity.CRITICAL,
    status=IncidentStatus.NEW,
    alert_count=5,
    tool_sources=frozenset({"Datadog", "Zabbix"}),
    first_event_at=NOW - timedelta(hours=5),
    last_event_at=NOW - timedelta(hours=1),
    created_at=NOW - timedelta(hours=2),
)
ASSET = Asset(id="a1", company_id="acme", name="db-01", is_critical=True)


def test_incident_score_uses_its_severity_count_tools_and_asset() -> None:
    result = score_incident(INCIDENT, ASSET, NOW)
    assert result.breakdown == {
        "severity_base": 90,
        "critical_asset": 20,
        "duplicates": 8,
        "multi_tool": 10,
        "age_decay": -2,
    }
    assert result.score == 126


def test_incident_age_counts_from_when_it_was_opened_not_its_first_event() -> None:
    late = attrs.evolve(INCIDENT, first_event_at=NOW - timedelta(hours=8), created_at=NOW)
    assert score_incident(late, None, NOW).breakdown["age_decay"] == 0


def test_unregistered_asset_earns_no_critical_bonus() -> None:
    assert score_incident(INCIDENT, None, NOW).breakdown["critical_asset"] == 0


def test_non_critical_asset_earns_no_critical_bonus() -> None:
    assert (
        score_incident(INCIDENT, attrs.evolve(ASSET, is_critical=False), NOW).breakdown[
            "critical_asset"
        ]
        == 0
    )


def test_one_tool_reporting_many_times_earns_no_multi_tool_bonus() -> None:
    single = attrs.evolve(INCIDENT, tool_sources=frozenset({"Datadog"}), alert_count=40)
    assert score_incident(single, None, NOW).breakdown["multi_tool"] == 0


@pytest.mark.parametrize(
    "wrong",
    [attrs.evolve(ASSET, company_id="globex"), attrs.evolve(ASSET, name="db-02")],
    ids=["other-company", "other-asset"],
)
def test_asset_of_another_company_or_name_is_refused(wrong: Asset) -> None:
    with pytest.raises(ValueError, match="not the asset"):
        score_incident(INCIDENT, wrong, NOW)


# --- properties ------------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
inputs = st.builds(
    Args,
    severity=st.sampled_from(list(Severity)),
    asset_is_critical=st.booleans(),
    alert_count=st.integers(1, 10_000),
    tool_source_count=st.integers(0, 6),
    opened_at=moments,
    now=moments,
)


@given(inputs)
def test_score_is_the_sum_of_its_breakdown_within_0_and_140(args: Args) -> None:
    result = args.full()
    assert result.score == sum(result.breakdown.values())
    assert 0 <= result.score <= 140
    assert args.fast() == result.score
    assert -10 <= result.breakdown["age_decay"] <= 0


@given(inputs, st.integers(1, 100))
def test_more_alerts_never_lower_the_score(args: Args, extra: int) -> None:
    more = attrs.evolve(args, alert_count=args.alert_count + extra)
    assert more.fast() >= args.fast()


@given(inputs, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
def test_time_passing_never_raises_the_score(args: Args, wait: timedelta) -> None:
    later = attrs.evolve(args, now=args.now + wait)
    assert later.fast() <= args.fast()
