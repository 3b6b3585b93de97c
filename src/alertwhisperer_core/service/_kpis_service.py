"""KPIs of a company (or of every visible company) over a period (SPEC §9).

The period defaults to the 30 days before ``now``. Alerts count by event time and incidents
by their first event, so an incident and its alerts fall into the same period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from .._kpis import KpiReport, compute_kpis
from .._models import User
from .._rbac import Action
from ._access import narrow_companies
from ._compliance import cached_compliance
from ._queries import check_range
from ._services import Services

__all__ = ["DEFAULT_KPI_PERIOD", "KpiFilter", "KpiPeriod", "company_kpis"]

DEFAULT_KPI_PERIOD = timedelta(days=30)


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
    check_range(query.since, query.until)
    companies = narrow_companies(actor, Action.VIEW_KPIS, query.company_id)
    until = query.until or services.clock.now()
    since = query.since or until - DEFAULT_KPI_PERIOD
    # Without an explicit end the period runs to now inclusive: an alert stamped this very
    # instant (or clamped to it) belongs to it, and an exclusive bound would drop it.
    bound = query.until
    async with services.uow() as uow:
        alert_count = await uow.alerts.count(companies, since, bound)
        incidents = await uow.incidents.all_in_period(companies, since, bound)
        compliance = await cached_compliance(uow, companies)
    report = compute_kpis(alert_count=alert_count, incidents=incidents, compliance=compliance)
    return KpiPeriod(report=report, since=since, until=until, company_ids=companies)
