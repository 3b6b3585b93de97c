"""KPIs with their bands, and patch compliance summaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._kpis import (
    UNKNOWN_ENVIRONMENT,
    Band,
    ComplianceSummary,
    EnvironmentCompliance,
    InstancePatchState,
    Kpi,
    KpiReport,
    band_for,
    compute_kpis,
    summarize_compliance,
)
from alertwhisperer_core._models import Incident, IncidentStatus, Resolution, Severity
from alertwhisperer_core.errors import ValidationError

T0 = datetime(2025, 1, 25, 8, 0, tzinfo=UTC)
EXCELLENT, GOOD, NEEDS = Band.EXCELLENT, Band.GOOD, Band.NEEDS_IMPROVEMENT


def incident(
    n: int = 0,
    *,
    status: IncidentStatus = IncidentStatus.NEW,
    resolution: Resolution | None = None,
    minutes: float | None = None,
    merged_into: str | None = None,
) -> Incident:
    """An incident created at T0; ``minutes`` to resolution makes it resolved."""
    resolved_at = None
    if minutes is not None:
        status = IncidentStatus.RESOLVED
        resolved_at = T0 + timedelta(minutes=minutes)
    return Incident(
        id=f"inc-{n}",
        company_id="acme",
        key="k",
        asset_name="srv",
        signature="disk_full",
        severity=Severity.HIGH,
        status=status,
        alert_count=1,
        tool_sources=frozenset({"datadog"}),
        first_event_at=T0,
        last_event_at=T0,
        created_at=T0,
        resolution=resolution,
        resolved_at=resolved_at,
        merged_into=merged_into,
    )


def many(count: int, **kwargs: object) -> list[Incident]:
    return [incident(i, **kwargs) for i in range(count)]  # type: ignore[arg-type]


def kpis(
    alert_count: int, incidents: Sequence[Incident], compliance: ComplianceSummary | None = None
) -> KpiReport:
    return compute_kpis(alert_count=alert_count, incidents=incidents, compliance=compliance)


def healed(n: int, minutes: float) -> Incident:
    return incident(n, resolution=Resolution.SELF_HEALED, minutes=minutes)


def manual(n: int, minutes: float) -> Incident:
    return incident(n, resolution=Resolution.MANUAL, minutes=minutes)


def recovered(n: int, minutes: float) -> Incident:
    return incident(n, resolution=Resolution.SOURCE_RECOVERED, minutes=minutes)


# --- bands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (100.0, EXCELLENT),
        (40.0, EXCELLENT),
        (39.999, GOOD),
        (20.0, GOOD),
        (19.999, NEEDS),
        (0.0, NEEDS),
        (-5.0, NEEDS),
    ],
)
def test_band_thresholds_are_inclusive(value: float, band: Band) -> None:
    assert band_for(value, 40.0, 20.0) is band


def test_no_value_has_no_band() -> None:
    assert band_for(None, 40.0, 20.0) is None


def test_band_names_are_the_guides() -> None:
    assert [str(b) for b in Band] == ["Excellent", "Good", "Needs Improvement"]


# --- noise reduction ---------------------------------------------------------------------


def test_guide_example_1000_alerts_300_incidents_is_70_percent() -> None:
    report = kpis(1000, many(300))
    assert report.noise_reduction == Kpi(70.0, EXCELLENT, "40-70%")
    assert (report.alert_count, report.incident_count) == (1000, 300)


@pytest.mark.parametrize(
    ("incidents", "band"), [(60, EXCELLENT), (61, GOOD), (80, GOOD), (81, NEEDS)]
)
def test_noise_reduction_bands(incidents: int, band: Band) -> None:
    assert kpis(100, many(incidents)).noise_reduction.band is band


def test_no_alerts_means_no_noise_reduction() -> None:
    report = kpis(0, [])
    assert (report.noise_reduction.value, report.noise_reduction.band) == (None, None)


def test_merged_and_pending_incidents_are_not_counted() -> None:
    incidents = [
        *many(3),
        incident(10, merged_into="inc-0"),
        incident(11, status=IncidentStatus.PENDING),
    ]
    report = kpis(10, incidents)
    assert report.incident_count == 3
    assert report.noise_reduction.value == pytest.approx(70.0)


def test_more_incidents_than_alerts_floors_at_zero() -> None:
    assert kpis(2, many(5)).noise_reduction.value == 0.0


@pytest.mark.parametrize("bad", [-1, True, 1.5, "10"])
def test_alert_count_must_be_a_non_negative_integer(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        compute_kpis(alert_count=bad, incidents=[], compliance=None)  # type: ignore[arg-type]
    assert info.value.errors[0]["field"] == "alert_count"


# --- self-healed -------------------------------------------------------------------------


def test_guide_example_25_of_100_self_healed() -> None:
    incidents = [healed(i, 5) for i in range(25)] + many(75)
    report = kpis(400, incidents)
    assert report.self_healed == Kpi(25.0, EXCELLENT, "20-30%")
    assert report.self_healed_count == 25


@pytest.mark.parametrize(("count", "band"), [(20, EXCELLENT), (19, GOOD), (10, GOOD), (9, NEEDS)])
def test_self_healed_bands(count: int, band: Band) -> None:
    incidents = [healed(i, 1) for i in range(count)] + many(100 - count)
    assert kpis(1000, incidents).self_healed.band is band


def test_no_incidents_means_no_self_healed_rate() -> None:
    assert kpis(5, []).self_healed == Kpi(None, None, "20-30%")


# --- MTTR --------------------------------------------------------------------------------


def test_guide_example_manual_60_auto_5_is_a_92_percent_reduction() -> None:
    report = kpis(10, [manual(1, 60), healed(2, 5)])
    assert report.mttr_manual_minutes.value == pytest.approx(60.0)
    assert report.mttr_auto_minutes.value == pytest.approx(5.0)
    assert report.mttr_minutes.value == pytest.approx(32.5)
    assert report.mttr_reduction.value == pytest.approx(100 * 55 / 60)
    assert round(report.mttr_reduction.value or 0) == 92
    assert report.mttr_reduction.band is EXCELLENT


@pytest.mark.parametrize(
    ("auto_minutes", "band"), [(50, EXCELLENT), (51, GOOD), (70, GOOD), (71, NEEDS), (150, NEEDS)]
)
def test_mttr_reduction_bands(auto_minutes: float, band: Band) -> None:
    assert kpis(10, [manual(1, 100), healed(2, auto_minutes)]).mttr_reduction.band is band


def test_slower_automation_is_a_negative_reduction() -> None:
    assert kpis(10, [manual(1, 10), healed(2, 15)]).mttr_reduction.value == pytest.approx(-50.0)


def test_mttr_in_minutes_has_no_band() -> None:
    report = kpis(10, [manual(1, 10), healed(2, 5)])
    for kpi in (report.mttr_minutes, report.mttr_auto_minutes, report.mttr_manual_minutes):
        assert kpi.band is None
        assert kpi.target == "lower is better"


def test_source_recovered_counts_in_overall_mttr_only() -> None:
    report = kpis(10, [manual(1, 30), healed(2, 10), recovered(3, 2)])
    assert report.mttr_minutes.value == pytest.approx(14.0)
    assert report.mttr_manual_minutes.value == pytest.approx(30.0)
    assert report.mttr_auto_minutes.value == pytest.approx(10.0)
    assert report.source_recovered_count == 1
    assert report.resolved_count == 3


def test_open_incidents_do_not_count_in_mttr() -> None:
    report = kpis(10, [manual(1, 30), incident(2, status=IncidentStatus.IN_PROGRESS)])
    assert report.mttr_minutes.value == pytest.approx(30.0)
    assert report.resolved_count == 1


def test_resolution_stamped_before_creation_counts_as_zero() -> None:
    assert kpis(5, [recovered(1, -3), recovered(2, 4)]).mttr_minutes.value == pytest.approx(2.0)


def test_sub_minute_resolution_times_are_kept() -> None:
    assert kpis(5, [healed(1, 0.5)]).mttr_auto_minutes.value == pytest.approx(0.5)


@pytest.mark.parametrize(
    "incidents",
    [[], [manual(1, 10)], [healed(1, 10)], [manual(1, 0), healed(2, 5)]],
    ids=["none", "manual-only", "auto-only", "manual-zero"],
)
def test_mttr_reduction_needs_both_sides_and_a_positive_manual_time(
    incidents: list[Incident],
) -> None:
    assert kpis(10, incidents).mttr_reduction == Kpi(None, None, "30-50%")


def test_nothing_resolved_means_no_mttr() -> None:
    report = kpis(3, many(3))
    assert report.mttr_minutes.value is None
    assert report.resolved_count == 0


@given(
    durations=st.lists(
        st.tuples(st.sampled_from(list(Resolution)), st.floats(0, 10_000, allow_nan=False)),
        min_size=1,
        max_size=30,
    )
)
def test_overall_mttr_is_the_weighted_mean_of_its_parts(
    durations: list[tuple[Resolution, float]],
) -> None:
    incidents = [incident(i, resolution=r, minutes=m) for i, (r, m) in enumerate(durations)]
    report = kpis(len(incidents), incidents)
    total = sum(
        (kpi.value or 0.0) * count
        for kpi, count in [
            (report.mttr_auto_minutes, report.self_healed_count),
            (report.mttr_manual_minutes, report.manual_count),
        ]
    )
    recovered_minutes = sum(m for r, m in durations if r is Resolution.SOURCE_RECOVERED)
    expected = (total + recovered_minutes) / len(durations)
    assert report.mttr_minutes.value == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert report.resolved_count == len(durations)
    assert report.noise_reduction.value == 0.0


@given(
    alerts=st.integers(0, 10_000),
    statuses=st.lists(st.sampled_from(list(IncidentStatus)), max_size=40),
    healed_flags=st.lists(st.booleans(), max_size=40),
)
def test_percentages_stay_between_0_and_100(
    alerts: int, statuses: list[IncidentStatus], healed_flags: list[bool]
) -> None:
    incidents = [
        incident(
            i,
            resolution=Resolution.SELF_HEALED if healed_flags[i % len(healed_flags)] else None,
            minutes=1,
        )
        if healed_flags and status is IncidentStatus.RESOLVED
        else incident(i, status=status)
        for i, status in enumerate(statuses)
    ]
    report = kpis(alerts, incidents)
    for kpi in (report.noise_reduction, report.self_healed):
        assert kpi.value is None or 0.0 <= kpi.value <= 100.0
    assert report.incident_count == sum(s is not IncidentStatus.PENDING for s in statuses)


# --- patch compliance --------------------------------------------------------------------


def state(
    instance_id: str,
    environment: str = "production",
    *,
    missing: int = 0,
    failed: int = 0,
    critical: int = 0,
    security: int = 0,
    at: datetime | None = None,
) -> InstancePatchState:
    return InstancePatchState(
        instance_id=instance_id,
        environment=environment,
        installed=10,
        missing=missing,
        critical_missing=critical,
        security_missing=security,
        failed=failed,
        last_operation_at=at,
    )


def test_instance_is_compliant_without_missing_or_failed_patches() -> None:
    assert state("i-1").compliant
    assert not state("i-1", missing=1).compliant
    assert not state("i-1", failed=1).compliant


def test_guide_example_95_of_100_patched_is_excellent() -> None:
    states = [state(f"i-{i}") for i in range(95)] + [state(f"x-{i}", missing=2) for i in range(5)]
    summary = summarize_compliance(states)
    assert (summary.total, summary.compliant, summary.noncompliant) == (100, 95, 5)
    report = kpis(1, [], summary)
    assert report.patch_compliance == Kpi(95.0, EXCELLENT, "95%+")


@pytest.mark.parametrize(
    ("compliant", "band"), [(95, EXCELLENT), (94, GOOD), (90, GOOD), (89, NEEDS)]
)
def test_patch_compliance_bands(compliant: int, band: Band) -> None:
    states = [state(f"i-{i}", missing=0 if i < compliant else 1) for i in range(100)]
    assert kpis(1, [], summarize_compliance(states)).patch_compliance.band is band


def test_no_compliance_data_means_no_patch_kpi() -> None:
    assert kpis(1, []).patch_compliance == Kpi(None, None, "95%+")
    assert kpis(1, [], summarize_compliance([])).patch_compliance.value is None


def test_summary_adds_up_missing_patch_counts() -> None:
    summary = summarize_compliance(
        [state("a", missing=3, critical=1, security=2), state("b", failed=2, critical=4)]
    )
    assert (summary.missing, summary.failed) == (3, 2)
    assert (summary.critical_missing, summary.security_missing) == (5, 2)


def test_summary_breaks_down_by_environment() -> None:
    summary = summarize_compliance(
        [state("a"), state("b", missing=1), state("c", "staging"), state("d", "")]
    )
    assert dict(summary.by_environment) == {
        "production": EnvironmentCompliance(total=2, compliant=1, percent=50.0),
        "staging": EnvironmentCompliance(total=1, compliant=1, percent=100.0),
        UNKNOWN_ENVIRONMENT: EnvironmentCompliance(total=1, compliant=1, percent=100.0),
    }
    assert list(summary.by_environment) == sorted(summary.by_environment)


def test_last_scan_is_the_latest_operation() -> None:
    berlin = timezone(timedelta(hours=1))
    later_but_written_in_berlin = datetime(2025, 1, 25, 12, 30, tzinfo=berlin)  # 11:30 UTC
    summary = summarize_compliance(
        [state("a", at=T0), state("b", at=later_but_written_in_berlin), state("c")]
    )
    assert summary.last_scan_at == later_but_written_in_berlin


def test_no_operation_times_means_no_last_scan() -> None:
    assert summarize_compliance([state("a")]).last_scan_at is None


def test_instance_listed_twice_counts_once_with_its_newest_state() -> None:
    old = state("a", missing=4, at=T0)
    new = state("a", at=T0 + timedelta(hours=1))
    for order in ([old, new], [new, old]):
        summary = summarize_compliance(order)
        assert (summary.total, summary.compliant, summary.missing) == (1, 1, 0)


def test_duplicate_with_a_time_beats_one_without() -> None:
    timed = state("a", missing=1, at=T0)
    untimed = state("a")
    for order in ([timed, untimed], [untimed, timed]):
        assert summarize_compliance(order).compliant == 0


def test_empty_summary() -> None:
    summary = summarize_compliance([])
    assert (summary.total, summary.compliant, summary.percent) == (0, 0, None)
    assert dict(summary.by_environment) == {}


@pytest.mark.parametrize(
    "field", ["installed", "missing", "critical_missing", "security_missing", "failed"]
)
@pytest.mark.parametrize("bad", [-1, True, 2.0])
def test_patch_counts_must_be_non_negative_integers(field: str, bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        InstancePatchState(instance_id="i", **{field: bad})  # type: ignore[arg-type]
    assert info.value.errors[0]["field"] == field


def test_last_operation_time_must_be_aware() -> None:
    with pytest.raises(ValidationError) as info:
        InstancePatchState(instance_id="i", last_operation_at=datetime(2025, 1, 1))
    assert info.value.errors[0]["field"] == "last_operation_at"


@given(flags=st.lists(st.tuples(st.booleans(), st.sampled_from(["prod", "dev", ""])), max_size=50))
def test_environment_totals_add_up_to_the_summary(flags: list[tuple[bool, str]]) -> None:
    summary = summarize_compliance(
        state(f"i-{i}", env, missing=0 if ok else 1) for i, (ok, env) in enumerate(flags)
    )
    assert sum(e.total for e in summary.by_environment.values()) == summary.total == len(flags)
    assert sum(e.compliant for e in summary.by_environment.values()) == summary.compliant
    assert summary.compliant == sum(ok for ok, _ in flags)
