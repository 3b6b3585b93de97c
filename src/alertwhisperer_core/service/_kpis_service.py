"""KPIs of a company (or of every visible company) over a period (SPEC §9).

The period defaults to the 30 days before ``now``. Alerts count by event time and incidents
by their first event, so an incident and its alerts fall into the same period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from .._kpis import KpiBucket, KpiReport, bucket_count, compute_kpi_series, compute_kpis
from .._models import User
from .._rbac import Action
from ..errors import ValidationError
from ._access import narrow_companies
from ._compliance import cached_compliance
from ._queries import check_range
from ._services import Services

__all__ = [
    "BUCKETS",
    "DEFAULT_KPI_PERIOD",
    "KpiFilter",
    "KpiPeriod",
    "KpiSeries",
    "KpiSeriesFilter",
    "company_kpis",
    "kpi_series",
]

DEFAULT_KPI_PERIOD = timedelta(days=30)
BUCKETS: dict[str, tuple[timedelta, int]] = {
    "hour": (timedelta(hours=1), 24),
    "day": (timedelta(days=1), 30),
}
"""Bucket widths of a KPI series, and how many buckets a series without ``since`` covers."""


@attrs.frozen
class KpiFilter:
    company_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@attrs.frozen
class KpiPeriod:
    """A KPI report and the period and companies it covers (None: every company)."""

    report: KpiReport
    since: datetime
    until: datetime
    company_ids: frozenset[str] | None


async def company_kpis(services: Services, actor: User, query: KpiFilter) -> KpiPeriod:
    """Noise reduction, self-healed %, MTTR (overall, auto, manual) and patch compliance.

    Patch compliance is the current cached state of the companies' instances (the last sync,
    not the period: Patch Manager reports how instances are now); it has no value until one of
    them was synced.
    """
    companies, since, until = _period(services, actor, query, DEFAULT_KPI_PERIOD)
    # Without an explicit end the period runs to now inclusive: an alert stamped this very
    # instant (or clamped to it) belongs to it, and an exclusive bound would drop it.
    bound = query.until
    async with services.uow() as uow:
        alert_count = await uow.alerts.count(companies, since, bound)
        incidents = await uow.incidents.all_in_period(companies, since, bound)
        compliance = await cached_compliance(uow, companies)
    report = compute_kpis(alert_count=alert_count, incidents=incidents, compliance=compliance)
    return KpiPeriod(report=report, since=since, until=until, company_ids=companies)


def _period(
    services: Services, actor: User, query: KpiFilter | KpiSeriesFilter, default: timedelta
) -> tuple[frozenset[str] | None, datetime, datetime]:
    """The companies ``actor`` may see of ``query`` (a foreign one is a 404) and its period:
    ``until`` defaults to now and ``since`` to ``default`` before it."""
    check_range(query.since, query.until)
    companies = narrow_companies(actor, Action.VIEW_KPIS, query.company_id)
    until = query.until or services.clock.now()
    return companies, query.since or until - default, until


@attrs.frozen
class KpiSeriesFilter:
    company_id: str | None = None
    bucket: str = "hour"
    since: datetime | None = None
    until: datetime | None = None


@attrs.frozen
class KpiSeries:
    """The KPIs of a whole period and of each of its buckets, from the same reads."""

    total: KpiPeriod
    bucket: str
    buckets: list[KpiBucket]


async def kpi_series(services: Services, actor: User, query: KpiSeriesFilter) -> KpiSeries:
    """The KPIs of ``[since, until)`` per hour or day, and over the whole period.

    One read of the alert counts per bucket (grouped by the store) and one of the period's
    incidents, which the core splits into buckets in one pass. ``until`` defaults to now and
    ``since`` to 24 hours (``hour``) or 30 days (``day``) before it; the buckets start at
    ``since``, so a client that wants whole hours or days passes aligned bounds. The total is
    exactly what ``GET /api/kpis`` answers for the same period.
    """
    if query.bucket not in BUCKETS:
        raise ValidationError.for_field("bucket", f"must be one of {', '.join(BUCKETS)}")
    width, default_count = BUCKETS[query.bucket]
    companies, since, until = _period(services, actor, query, default_count * width)
    bucket_count(since, until, width)  # a 422 before any read for a bad period
    # Without an explicit end the period has none, as in company_kpis: what was stamped this
    # very instant (or a little later, within the future clamp) counts, in the last bucket.
    closed = query.until is None
    end = query.until
    async with services.uow() as uow:
        counts = await uow.alerts.count_buckets(companies, since, end, width)
        incidents = await uow.incidents.all_in_period(companies, since, end)
        compliance = await cached_compliance(uow, companies)
    buckets = compute_kpi_series(
        since=since,
        until=until,
        width=width,
        alert_counts=counts,
        incidents=incidents,
        closed=closed,
    )
    report = compute_kpis(
        alert_count=sum(counts.values()), incidents=incidents, compliance=compliance
    )
    total = KpiPeriod(report=report, since=since, until=until, company_ids=companies)
    return KpiSeries(total=total, bucket=query.bucket, buckets=buckets)
