"""Read side: alert and incident lists with filters, full-text ``q``, sorting and cursors.

Incidents sort by priority, highest first, by default. A priority depends on ``now`` (age
decay), so a priority-sorted list is computed at one instant, and the cursor of its next page
carries that instant: later pages rank with the same clock and neither skip nor repeat items
because time moved on. Ties go to the most recent activity, then to the id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs

from .._cursor import decode_cursor, encode_cursor
from .._models import Alert, AlertStatus, Asset, Incident, IncidentStatus, Severity, User
from .._rbac import Action
from .._scoring import PriorityScore, priority_score, score_incident
from ..errors import ValidationError
from ..ports import AlertQuery, IncidentQuery, Page, UnitOfWork
from ._access import narrow_companies
from ._services import Services

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "SORTS",
    "AlertCounts",
    "AlertFilter",
    "IncidentCounts",
    "IncidentFilter",
    "IncidentView",
    "check_limit",
    "check_range",
    "count_alerts",
    "count_incidents",
    "incident_view",
    "list_alerts",
    "list_incidents",
    "page_sorted",
]

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SORTS = ("priority", "recent")
_SCAN_PAGE = 500


def check_limit(limit: int) -> None:
    """A page size is 1 to :data:`MAX_LIMIT`; anything else is a 422 naming ``limit``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.for_field("limit", f"must be between 1 and {MAX_LIMIT}")


def page_sorted(
    items: Sequence[T],
    key: Callable[[T], tuple[str, str]],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> Page[T]:
    """One keyset page of ``items`` ordered by ``key`` (a unique ``(text, id)`` pair).

    For the short lists an operator curates by hand (users, companies, runbooks): they are
    read whole and sliced here, with the same opaque cursors as the lists the stores page.
    The cursor is the key of the last item returned, so items added or removed between two
    requests neither shift nor repeat the rest. A cursor this server did not issue is a 422.
    """
    check_limit(limit)
    after = tuple(decode_cursor(cursor, 2)) if cursor is not None else None
    if after is not None and not all(isinstance(part, str) for part in after):
        raise ValidationError.for_field("cursor", "is not a cursor this server issued")
    ordered = sorted(items, key=key, reverse=descending)
    if after is not None:
        ordered = [i for i in ordered if (key(i) < after if descending else key(i) > after)]
    page = ordered[:limit]
    more = len(ordered) > limit
    return Page(tuple(page), encode_cursor(*key(page[-1])) if more and page else None)


def check_range(since: datetime | None, until: datetime | None) -> None:
    """Time filters must be aware and in order; else a 422 naming the field."""
    for field, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise ValidationError.for_field(field, "must include a time zone (e.g. Z)")
    if since is not None and until is not None and since > until:
        raise ValidationError.for_field("until", "must not be before since")


@attrs.frozen
class AlertFilter:
    """Filters of ``GET /api/alerts``; times apply to the alert's event time."""

    company_id: str | None = None
    incident_id: str | None = None
    severity: Severity | None = None
    status: AlertStatus | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


@attrs.frozen
class IncidentFilter:
    """Filters of ``GET /api/incidents``; times apply to the incident's last event."""

    company_id: str | None = None
    status: IncidentStatus | None = None
    severity: Severity | None = None
    assigned_to: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "priority"
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


@attrs.frozen
class IncidentView:
    """An incident as the API shows it: with its alert ids, its asset and its priority."""

    incident: Incident
    priority: PriorityScore
    asset: Asset | None


async def list_alerts(
    services: Services, actor: User, query: AlertFilter
) -> Page[tuple[Alert, str | None]]:
    """One page of the alerts ``actor`` may see, newest first, with each alert's incident id."""
    check_limit(query.limit)
    check_range(query.since, query.until)
    base = _alert_query(actor, query)
    async with services.uow() as uow:
        return await uow.alerts.list(attrs.evolve(base, cursor=query.cursor, limit=query.limit))


def _alert_query(actor: User, query: AlertFilter) -> AlertQuery:
    """The store's query for ``query``'s filters over the companies ``actor`` may see (a
    foreign ``company_id`` is a 404); no page yet."""
    return AlertQuery(
        company_ids=narrow_companies(actor, Action.VIEW_ALERTS, query.company_id),
        incident_id=query.incident_id,
        severity=query.severity,
        status=query.status.value if query.status else None,
        q=query.q or None,
        since=query.since,
        until=query.until,
    )


def _incident_query(actor: User, query: IncidentFilter) -> IncidentQuery:
    """The store's query for ``query``'s filters over the companies ``actor`` may see (a
    foreign ``company_id`` is a 404); no page yet."""
    return IncidentQuery(
        company_ids=narrow_companies(actor, Action.VIEW_INCIDENTS, query.company_id),
        status=query.status,
        severity=query.severity,
        assigned_to=query.assigned_to,
        q=query.q or None,
        since=query.since,
        until=query.until,
    )


@attrs.frozen
class AlertCounts:
    """How many alerts match a filter, in total, per severity and per status (every value of
    each is present, zero when none)."""

    total: int
    by_severity: Mapping[Severity, int]
    by_status: Mapping[AlertStatus, int]


@attrs.frozen
class IncidentCounts:
    """How many incidents match a filter, in total, per severity and per listed status."""

    total: int
    by_severity: Mapping[Severity, int]
    by_status: Mapping[IncidentStatus, int]


_LISTED = tuple(s for s in IncidentStatus if s is not IncidentStatus.PENDING)


def _margin(
    groups: Mapping[tuple[Any, Any], int], keys: Sequence[Any], side: int
) -> dict[Any, int]:
    totals = dict.fromkeys(keys, 0)
    for group, n in groups.items():
        totals[group[side]] = totals.get(group[side], 0) + n
    return totals


async def count_alerts(services: Services, actor: User, query: AlertFilter) -> AlertCounts:
    """How many alerts ``actor`` may see match ``query`` (its cursor and limit ignored); the
    store counts, so this costs one grouped query whatever the number of alerts."""
    check_range(query.since, query.until)
    base = _alert_query(actor, query)
    async with services.uow() as uow:
        groups = await uow.alerts.count_groups(base)
    return AlertCounts(
        total=sum(groups.values()),
        by_severity=_margin(groups, tuple(Severity), 0),
        by_status=_margin(groups, tuple(AlertStatus), 1),
    )


async def count_incidents(services: Services, actor: User, query: IncidentFilter) -> IncidentCounts:
    """How many of the incidents :func:`list_incidents` would list match ``query`` (sort,
    cursor and limit ignored), counted by the store in one grouped query."""
    check_range(query.since, query.until)
    base = _incident_query(actor, query)
    async with services.uow() as uow:
        groups = await uow.incidents.count_groups(base)
    return IncidentCounts(
        total=sum(groups.values()),
        by_severity=_margin(groups, tuple(Severity), 0),
        by_status=_margin(groups, _LISTED, 1),
    )


class _Assets:
    """Asset lookups of one request, each (company, name) fetched once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._cache: dict[tuple[str, str], Asset | None] = {}

    async def get(self, incident: Incident) -> Asset | None:
        key = (incident.company_id, incident.asset_name)
        if key not in self._cache:
            self._cache[key] = await self._uow.assets.by_name(*key)
        return self._cache[key]


async def incident_view(
    uow: UnitOfWork, incident: Incident, now: datetime, asset: Asset | None
) -> IncidentView:
    """Fill in ``alert_ids`` and score ``incident`` at ``now``."""
    alert_ids = tuple(await uow.alerts.ids_for_incident(incident.id))
    filled = attrs.evolve(incident, alert_ids=alert_ids)
    return IncidentView(filled, score_incident(incident, asset, now), asset)


async def list_incidents(
    services: Services, actor: User, query: IncidentFilter
) -> Page[IncidentView]:
    """One page of the incidents ``actor`` may see (pending groups and merged halves excluded)."""
    check_limit(query.limit)
    check_range(query.since, query.until)
    if query.sort not in SORTS:
        raise ValidationError.for_field("sort", f"must be one of {', '.join(SORTS)}")
    base = _incident_query(actor, query)
    async with services.uow() as uow:
        assets = _Assets(uow)
        if query.sort == "recent":
            now = services.clock.now()
            page = await uow.incidents.list(
                attrs.evolve(base, cursor=query.cursor, limit=query.limit)
            )
            views = [await incident_view(uow, i, now, await assets.get(i)) for i in page.items]
            return Page(tuple(views), page.next_cursor)
        return await _by_priority(uow, assets, base, query, services.clock.now())


async def _everything(uow: UnitOfWork, base: IncidentQuery) -> list[Incident]:
    found: list[Incident] = []
    cursor: str | None = None
    while True:
        page = await uow.incidents.list(attrs.evolve(base, cursor=cursor, limit=_SCAN_PAGE))
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


async def _by_priority(
    uow: UnitOfWork, assets: _Assets, base: IncidentQuery, query: IncidentFilter, now: datetime
) -> Page[IncidentView]:
    after: tuple[int, int, str] | None = None
    if query.cursor is not None:
        at, score, last, ident = decode_cursor(query.cursor, 4)
        if not (
            isinstance(at, str)
            and isinstance(score, int)
            and isinstance(last, int)
            and isinstance(ident, str)
        ):
            raise ValidationError.for_field("cursor", "is not a cursor this server issued")
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            raise ValidationError.for_field(
                "cursor", "is not a cursor this server issued"
            ) from None
        after = (-score, -last, ident)
    ranked: list[tuple[tuple[int, int, str], Incident]] = []
    for incident in await _everything(uow, base):
        asset = await assets.get(incident)
        score = priority_score(
            severity=incident.severity,
            asset_is_critical=asset is not None and asset.is_critical,
            alert_count=max(1, incident.alert_count),
            tool_source_count=len(incident.tool_sources),
            opened_at=incident.created_at,
            now=now,
        )
        key = (-score, -_micros(incident.last_event_at), incident.id)
        if after is None or key > after:
            ranked.append((key, incident))
    ranked.sort(key=lambda pair: pair[0])
    chosen = ranked[: query.limit]
    views = [await incident_view(uow, i, now, await assets.get(i)) for _, i in chosen]
    next_cursor = None
    if len(ranked) > query.limit and chosen:
        (neg_score, neg_last, ident), _ = chosen[-1]
        next_cursor = encode_cursor(now.isoformat(), -neg_score, -neg_last, ident)
    return Page(tuple(views), next_cursor)
