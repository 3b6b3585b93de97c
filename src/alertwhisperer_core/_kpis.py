"""KPIs and patch compliance (SPEC §9, the guide's KPI dashboard).

Definitions, for one company (or all) over one period; the caller picks the alerts and
incidents of the period:

- Counted incidents are those neither merged into another nor pending (a pending group was
  never listed). Its alerts still count: hiding them is the point of the noise reduction.
- Noise reduction % = (1 - incidents / alerts) x 100, floored at 0 (a period boundary can cut
  an incident's earlier alerts off); no value without alerts.
- Self-healed % = incidents resolved ``self_healed`` / incidents x 100.
- MTTR runs from an incident's ``created_at`` to its ``resolved_at``, over resolved incidents,
  in minutes; a resolution stamped before creation (a late alert's recovery) counts as 0.
  Auto MTTR is over ``self_healed`` incidents, manual over ``manual`` ones. Incidents that
  recovered at the source count in the overall MTTR only: neither automation nor a person
  fixed them, and their usually short lives would flatter either side.
- MTTR reduction % = (1 - auto / manual) x 100: how much faster automation is. Negative when
  automation is slower; no value unless both sides have incidents and manual MTTR is above 0.
- Patch compliance % = compliant instances / instances x 100, where compliant means no
  missing and no failed patches.

A time series (:func:`compute_kpi_series`) cuts a period into buckets of one width, the last
one possibly shorter, and computes each bucket's KPIs in one pass over the period's incidents:
an incident belongs to the bucket of its first event, as it belongs to a period.

Bands (value >= threshold): noise reduction Excellent 40, Good 20; self-healed 20, 10; MTTR
reduction 50, 30 (the guide targets 30-50 % faster); patch compliance 95, 90. Below Good is
Needs Improvement. MTTR in minutes has no band.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from ._models import Incident, IncidentStatus, Resolution
from .errors import ValidationError

__all__ = [
    "MAX_BUCKETS",
    "UNKNOWN_ENVIRONMENT",
    "Band",
    "ComplianceSummary",
    "EnvironmentCompliance",
    "InstancePatchState",
    "Kpi",
    "KpiBucket",
    "KpiReport",
    "band_for",
    "bucket_count",
    "compute_kpi_series",
    "compute_kpis",
    "summarize_compliance",
]


class Band(enum.StrEnum):
    EXCELLENT = "Excellent"
    GOOD = "Good"
    NEEDS_IMPROVEMENT = "Needs Improvement"


@attrs.frozen
class Kpi:
    """One figure: ``value`` (None when there is nothing to measure), its band, the target."""

    value: float | None
    band: Band | None
    target: str


@attrs.frozen
class KpiReport:
    """Every KPI of a period, with the counts they were computed from."""

    noise_reduction: Kpi
    self_healed: Kpi
    mttr_minutes: Kpi
    mttr_auto_minutes: Kpi
    mttr_manual_minutes: Kpi
    mttr_reduction: Kpi
    patch_compliance: Kpi
    alert_count: int
    incident_count: int
    resolved_count: int
    self_healed_count: int
    manual_count: int
    source_recovered_count: int


def _non_negative_int(field: str) -> Any:
    def check(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError.for_field(field, "must be a non-negative integer")

    return check


def _aware_or_none(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ValidationError.for_field("last_operation_at", "must be a timezone-aware time")


@attrs.frozen
class InstancePatchState:
    """Patch Manager's state of one managed instance."""

    instance_id: str
    environment: str = ""
    installed: int = attrs.field(default=0, validator=_non_negative_int("installed"))
    missing: int = attrs.field(default=0, validator=_non_negative_int("missing"))
    critical_missing: int = attrs.field(default=0, validator=_non_negative_int("critical_missing"))
    security_missing: int = attrs.field(default=0, validator=_non_negative_int("security_missing"))
    failed: int = attrs.field(default=0, validator=_non_negative_int("failed"))
    last_operation_at: datetime | None = attrs.field(default=None, validator=_aware_or_none)

    @property
    def compliant(self) -> bool:
        """No missing and no failed patches."""
        return self.missing == 0 and self.failed == 0


@attrs.frozen
class EnvironmentCompliance:
    """Compliance of the instances of one environment (production, staging, ...)."""

    total: int
    compliant: int
    percent: float | None


@attrs.frozen
class ComplianceSummary:
    """Compliance over a set of instances; ``percent`` is None when there are none."""

    total: int
    compliant: int
    percent: float | None
    critical_missing: int
    security_missing: int
    missing: int
    failed: int
    by_environment: Mapping[str, EnvironmentCompliance]
    last_scan_at: datetime | None

    @property
    def noncompliant(self) -> int:
        return self.total - self.compliant


UNKNOWN_ENVIRONMENT = "unknown"

_NOISE = (40.0, 20.0, "40-70%")
_SELF_HEALED = (20.0, 10.0, "20-30%")
_MTTR_REDUCTION = (50.0, 30.0, "30-50%")
_PATCH = (95.0, 90.0, "95%+")
_MTTR_TARGET = "lower is better"


def band_for(value: float | None, excellent: float, good: float) -> Band | None:
    """The band of ``value`` given the two thresholds (inclusive); None for no value."""
    if value is None:
        return None
    if value >= excellent:
        return Band.EXCELLENT
    if value >= good:
        return Band.GOOD
    return Band.NEEDS_IMPROVEMENT


def compute_kpis(
    *, alert_count: int, incidents: Iterable[Incident], compliance: ComplianceSummary | None
) -> KpiReport:
    """Compute every KPI of a period from its alert count, incidents and patch compliance."""
    if isinstance(alert_count, bool) or not isinstance(alert_count, int) or alert_count < 0:
        raise ValidationError.for_field("alert_count", "must be a non-negative integer")
    counted = [
        i for i in incidents if i.merged_into is None and i.status is not IncidentStatus.PENDING
    ]
    resolved = [
        i for i in counted if i.status is IncidentStatus.RESOLVED and i.resolved_at is not None
    ]
    auto = [i for i in resolved if i.resolution is Resolution.SELF_HEALED]
    manual = [i for i in resolved if i.resolution is Resolution.MANUAL]
    self_healed_count = sum(1 for i in counted if i.resolution is Resolution.SELF_HEALED)

    noise = None
    if alert_count:
        noise = max(0.0, (alert_count - len(counted)) * 100.0 / alert_count)
    healed = _percent(self_healed_count, len(counted))
    mttr, mttr_auto, mttr_manual = (
        _mean_minutes(resolved),
        _mean_minutes(auto),
        _mean_minutes(manual),
    )
    reduction = None
    if mttr_auto is not None and mttr_manual:
        reduction = (mttr_manual - mttr_auto) * 100.0 / mttr_manual
    patch = compliance.percent if compliance is not None else None

    return KpiReport(
        noise_reduction=_kpi(noise, _NOISE),
        self_healed=_kpi(healed, _SELF_HEALED),
        mttr_minutes=Kpi(mttr, None, _MTTR_TARGET),
        mttr_auto_minutes=Kpi(mttr_auto, None, _MTTR_TARGET),
        mttr_manual_minutes=Kpi(mttr_manual, None, _MTTR_TARGET),
        mttr_reduction=_kpi(reduction, _MTTR_REDUCTION),
        patch_compliance=_kpi(patch, _PATCH),
        alert_count=alert_count,
        incident_count=len(counted),
        resolved_count=len(resolved),
        self_healed_count=self_healed_count,
        manual_count=len(manual),
        source_recovered_count=sum(
            1 for i in resolved if i.resolution is Resolution.SOURCE_RECOVERED
        ),
    )


MAX_BUCKETS = 1000
"""The most buckets one series may have (31 days of hours is 744)."""


@attrs.frozen
class KpiBucket:
    """The KPIs of one bucket ``[since, until)`` of a series."""

    since: datetime
    until: datetime
    report: KpiReport


def bucket_count(since: datetime, until: datetime, width: timedelta) -> int:
    """How many buckets of ``width`` cover ``[since, until)`` (the last may be shorter).

    A period before its start is a 422 naming ``until``; one of more than
    :data:`MAX_BUCKETS` buckets is a 422 naming ``since``.
    """
    if width <= timedelta():
        raise ValidationError.for_field("bucket", "must be a positive width")
    if until < since:
        raise ValidationError.for_field("until", "must not be before since")
    n = -((since - until) // width)
    if n > MAX_BUCKETS:
        raise ValidationError.for_field(
            "since", f"the period holds {n} buckets; at most {MAX_BUCKETS} are allowed"
        )
    return n


def compute_kpi_series(
    *,
    since: datetime,
    until: datetime,
    width: timedelta,
    alert_counts: Mapping[int, int],
    incidents: Iterable[Incident],
    closed: bool = False,
) -> list[KpiBucket]:
    """The KPIs of each bucket of ``[since, until)``, from the alert count per bucket index
    (``(event_time - since) // width``; absent means none) and the period's incidents.

    ``closed``: the period has no end (it runs to now, and a few alerts may be stamped a
    little after it), so what happened at or after ``until`` counts in the last bucket.
    Incidents outside the period are ignored. Patch compliance is the current state of the
    fleet, not a quantity over time, so buckets carry none.
    """
    n = bucket_count(since, until, width)
    if n == 0:
        return []
    alerts = [0] * n
    for index, count in alert_counts.items():
        if 0 <= index < n or (closed and index >= n):
            alerts[min(index, n - 1)] += count
    grouped: list[list[Incident]] = [[] for _ in range(n)]
    for incident in incidents:
        first = incident.first_event_at
        if since <= first < until or (closed and first >= until):
            grouped[min((first - since) // width, n - 1)].append(incident)
    return [
        KpiBucket(
            since=since + i * width,
            until=min(since + (i + 1) * width, until),
            report=compute_kpis(alert_count=alerts[i], incidents=grouped[i], compliance=None),
        )
        for i in range(n)
    ]


def summarize_compliance(states: Iterable[InstancePatchState]) -> ComplianceSummary:
    """Summarize instance patch states; an instance listed twice counts once, newest state.

    Instances without an environment are grouped under ``"unknown"``.
    """
    latest: dict[str, InstancePatchState] = {}
    for state in states:
        seen = latest.get(state.instance_id)
        if seen is None or _operation_order(state) >= _operation_order(seen):
            latest[state.instance_id] = state
    instances = list(latest.values())
    environments: dict[str, list[InstancePatchState]] = {}
    for state in instances:
        environments.setdefault(state.environment or UNKNOWN_ENVIRONMENT, []).append(state)
    by_environment = {name: _environment(group) for name, group in sorted(environments.items())}
    compliant = sum(s.compliant for s in instances)
    scans = [s.last_operation_at for s in instances if s.last_operation_at is not None]
    return ComplianceSummary(
        total=len(instances),
        compliant=compliant,
        percent=_percent(compliant, len(instances)),
        critical_missing=sum(s.critical_missing for s in instances),
        security_missing=sum(s.security_missing for s in instances),
        missing=sum(s.missing for s in instances),
        failed=sum(s.failed for s in instances),
        by_environment=MappingProxyType(by_environment),
        last_scan_at=max(scans, default=None),
    )


def _environment(group: list[InstancePatchState]) -> EnvironmentCompliance:
    compliant = sum(s.compliant for s in group)
    return EnvironmentCompliance(
        total=len(group), compliant=compliant, percent=_percent(compliant, len(group))
    )


def _kpi(value: float | None, spec: tuple[float, float, str]) -> Kpi:
    excellent, good, target = spec
    return Kpi(value, band_for(value, excellent, good), target)


def _mean_minutes(incidents: list[Incident]) -> float | None:
    if not incidents:
        return None
    total = timedelta()
    for incident in incidents:
        assert incident.resolved_at is not None  # filtered by the caller
        total += max(timedelta(), incident.resolved_at - incident.created_at)
    return total.total_seconds() / 60.0 / len(incidents)


def _percent(part: int, whole: int) -> float | None:
    # Multiplying first keeps exact ratios exact: 16 of 80 is 20.0, not 19.999999999999996.
    return part * 100.0 / whole if whole else None


_NEVER = datetime.min.replace(tzinfo=UTC)


def _operation_order(state: InstancePatchState) -> tuple[bool, datetime]:
    # A state with an operation time is newer than one without.
    at = state.last_operation_at
    return (at is not None, _NEVER if at is None else at)
