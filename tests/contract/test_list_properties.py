"""Properties: on every back end, paged lists equal the in-memory reference's, page by page.

Each example writes under a company id of its own, so examples share one store per back end
without seeing each other's records.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertwhisperer_core import AuditEntry, Incident, IncidentStatus, Severity
from alertwhisperer_core.memory import InMemoryStore
from alertwhisperer_core.ports import (
    AlertQuery,
    AuditQuery,
    IncidentQuery,
    UnitOfWorkFactory,
)

from .records import T0, alert, audit_entry, incident

_examples = itertools.count()
# Few distinct instants (some a microsecond apart) and ids differing only in case, so that
# ties and byte-wise id order decide most of the order.
_instants = st.sampled_from([T0 + timedelta(minutes=m, microseconds=u)
                             for m in (0, 1, 5) for u in (0, 1, 999_999)])  # fmt: skip
_ids = st.lists(st.text("aAbB_-0", min_size=1, max_size=3), unique=True, max_size=12)
_limits = st.integers(min_value=1, max_value=5)
_shared = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


async def _walk_alerts(store: UnitOfWorkFactory, query: AlertQuery) -> list[list[str]]:
    pages, cursor = [], None
    async with store() as uow:
        while True:
            page = await uow.alerts.list(AlertQuery(
                company_ids=query.company_ids, severity=query.severity, q=query.q,
                since=query.since, limit=query.limit, cursor=cursor,
            ))  # fmt: skip
            pages.append([f"{a.id}:{cursor}" for a, _ in page.items])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor


@_shared
@given(
    ids=_ids,
    data=st.data(),
    limit=_limits,
    since=st.none() | _instants,
    severity=st.none() | st.sampled_from(Severity),
    q=st.none() | st.sampled_from(["a", "B", "_", "-0"]),
)
async def test_alert_pages_equal_the_reference(
    store: UnitOfWorkFactory, ids: list[str], data: st.DataObject, limit: int,
    since: object, severity: Severity | None, q: str | None,
) -> None:  # fmt: skip
    company = f"p{next(_examples)}"
    alerts = [
        alert(f"{company}{i}", company, received_at=data.draw(_instants),
              event_time=data.draw(_instants), severity=data.draw(st.sampled_from(Severity)),
              message=i)
        for i in ids
    ]  # fmt: skip
    reference = InMemoryStore()
    for target in (reference, store):
        async with target() as uow:
            for a in alerts:
                await uow.alerts.add(a, None)
            await uow.commit()
    query = AlertQuery(company_ids=frozenset({company}), severity=severity, q=q,
                       since=since, limit=limit)  # type: ignore[arg-type]  # fmt: skip
    assert await _walk_alerts(store, query) == await _walk_alerts(reference, query)


@_shared
@given(ids=_ids, data=st.data(), limit=_limits, pending=st.booleans())
async def test_incident_pages_equal_the_reference(
    store: UnitOfWorkFactory, ids: list[str], data: st.DataObject, limit: int, pending: bool
) -> None:
    company = f"p{next(_examples)}"
    incidents: list[Incident] = [
        incident(f"{company}{i}", company, last_event_at=data.draw(_instants),
                 status=data.draw(st.sampled_from(IncidentStatus)),
                 merged_into=data.draw(st.none() | st.just("x")))
        for i in ids
    ]  # fmt: skip
    reference = InMemoryStore()
    for target in (reference, store):
        async with target() as uow:
            for i in incidents:
                await uow.incidents.add(i)
            await uow.commit()

    async def walk(target: UnitOfWorkFactory) -> list[list[str]]:
        pages, cursor = [], None
        async with target() as uow:
            while True:
                page = await uow.incidents.list(IncidentQuery(
                    company_ids=frozenset({company}), include_pending=pending, limit=limit,
                    cursor=cursor,
                ))  # fmt: skip
                pages.append([i.id for i in page.items])
                if page.next_cursor is None:
                    return pages
                cursor = page.next_cursor

    assert await walk(store) == await walk(reference)


@_shared
@given(ids=_ids, data=st.data(), limit=_limits)
async def test_audit_pages_equal_the_reference(
    store: UnitOfWorkFactory, ids: list[str], data: st.DataObject, limit: int
) -> None:
    company = f"p{next(_examples)}"
    entries: list[AuditEntry] = [
        audit_entry(f"{company}{i}", company, timestamp=data.draw(_instants)) for i in ids
    ]
    reference = InMemoryStore()
    for target in (reference, store):
        async with target() as uow:
            for e in entries:
                await uow.audit.append(e)
            await uow.commit()

    async def walk(target: UnitOfWorkFactory) -> list[list[str]]:
        pages, cursor = [], None
        async with target() as uow:
            while True:
                query = AuditQuery(company_ids=frozenset({company}), limit=limit, cursor=cursor)
                page = await uow.audit.list(query)
                pages.append([e.id for e in page.items])
                if page.next_cursor is None:
                    return pages
                cursor = page.next_cursor

    assert await walk(store) == await walk(reference)
