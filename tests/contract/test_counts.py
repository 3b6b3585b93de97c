"""Counting in the store: alert and incident counts per severity and status under the list
filters, alert counts per time bucket, and an incident's executions page by page."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from alertwhisperer_core import (
    AlertStatus,
    Execution,
    ExecutionStatus,
    IncidentStatus,
    Severity,
    ValidationError,
)
from alertwhisperer_core.ports import AlertQuery, IncidentQuery, UnitOfWorkFactory

from .records import alert, at, incident

HOUR = timedelta(hours=1)
F, R = AlertStatus.FIRING, AlertStatus.RESOLVED


async def _alerts(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        for a, incident_id in (
            (alert("a1", severity=Severity.CRITICAL, event_time=at(0)), "i1"),
            (alert("a2", severity=Severity.CRITICAL, event_time=at(10)), "i1"),
            (alert("a3", severity=Severity.CRITICAL, status=R, event_time=at(20)), "i1"),
            (alert("a4", severity=Severity.HIGH, message="Disk FULL", event_time=at(30)), None),
            (alert("a5", severity=Severity.LOW, signature="cpu_high", message="cpu"), None),
            (alert("g1", "globex", severity=Severity.CRITICAL, event_time=at(5)), None),
        ):
            await uow.alerts.add(a, incident_id)
        await uow.commit()


async def test_alert_groups_count_severity_and_status_of_visible_alerts(
    store: UnitOfWorkFactory,
) -> None:
    await _alerts(store)
    async with store() as uow:
        everything = await uow.alerts.count_groups(AlertQuery())
        acme = await uow.alerts.count_groups(AlertQuery(company_ids=frozenset({"acme"})))
        nobody = await uow.alerts.count_groups(AlertQuery(company_ids=frozenset()))
    assert dict(everything) == {
        (Severity.CRITICAL, F): 3,
        (Severity.CRITICAL, R): 1,
        (Severity.HIGH, F): 1,
        (Severity.LOW, F): 1,
    }
    assert dict(acme) == {
        (Severity.CRITICAL, F): 2,
        (Severity.CRITICAL, R): 1,
        (Severity.HIGH, F): 1,
        (Severity.LOW, F): 1,
    }
    assert dict(nobody) == {}


async def test_alert_groups_apply_every_list_filter(store: UnitOfWorkFactory) -> None:
    await _alerts(store)
    acme = frozenset({"acme"})
    cases = [
        (AlertQuery(company_ids=acme, status="firing"), 4),
        (AlertQuery(company_ids=acme, severity=Severity.CRITICAL), 3),
        (AlertQuery(company_ids=acme, incident_id="i1"), 3),
        (AlertQuery(company_ids=acme, q="disk full"), 4),
        (AlertQuery(company_ids=acme, q="CPU_"), 1),
        (AlertQuery(company_ids=acme, since=at(10), until=at(30)), 2),
        # Cursor and limit are the list's; a count ignores them.
        (AlertQuery(company_ids=acme, limit=1), 5),
    ]
    async with store() as uow:
        for query, expected in cases:
            groups = await uow.alerts.count_groups(query)
            listed = await uow.alerts.list(attrs.evolve(query, limit=500))
            assert sum(groups.values()) == expected == len(listed.items), query


async def test_alert_buckets_count_by_event_time_from_since(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        for n, offset in enumerate((-1, 0, 59.99, 60, 61, 179, 180, 400)):
            await uow.alerts.add(alert(f"a{n}", event_time=at(offset)), None)
        await uow.alerts.add(alert("g", "globex", event_time=at(1)), None)
        await uow.commit()
    async with store() as uow:
        acme = await uow.alerts.count_buckets(frozenset({"acme"}), at(0), at(180), HOUR)
        everyone = await uow.alerts.count_buckets(None, at(0), None, HOUR)
        per_minute = await uow.alerts.count_buckets(None, at(0), at(2), timedelta(minutes=1))
    # [0, 60) holds 0 and 59.99; [60, 120) holds 60 and 61; [120, 180) holds 179.
    assert dict(acme) == {0: 2, 1: 2, 2: 1}
    assert dict(everyone) == {0: 3, 1: 2, 2: 1, 3: 1, 6: 1}
    assert dict(per_minute) == {0: 1, 1: 1}


async def test_alert_buckets_keep_microseconds_at_the_edges(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.alerts.add(alert("before", event_time=at(60, micro=-1)), None)
        await uow.alerts.add(alert("edge", event_time=at(60)), None)
        await uow.commit()
    async with store() as uow:
        assert dict(await uow.alerts.count_buckets(None, at(0), None, HOUR)) == {0: 1, 1: 1}


async def test_incident_groups_count_what_the_list_shows(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        for i in (
            incident("n1", severity=Severity.CRITICAL),
            incident("n2", key="k2", signature="cpu_high"),
            incident("p1", key="k3", status=IncidentStatus.IN_PROGRESS, assigned_to="u1"),
            incident("r1", key="k4", status=IncidentStatus.RESOLVED, last_event_at=at(90)),
            incident("pending", key="k5", status=IncidentStatus.PENDING),
            incident("merged", key="k6", merged_into="n1"),
            incident("g1", "globex", severity=Severity.CRITICAL),
        ):
            await uow.incidents.add(i)
        await uow.commit()
    acme = frozenset({"acme"})
    async with store() as uow:
        groups = await uow.incidents.count_groups(IncidentQuery(company_ids=acme))
        assigned = await uow.incidents.count_groups(
            IncidentQuery(company_ids=acme, assigned_to="u1")
        )
        searched = await uow.incidents.count_groups(IncidentQuery(company_ids=acme, q="CPU"))
        late = await uow.incidents.count_groups(IncidentQuery(company_ids=acme, since=at(60)))
        everyone = await uow.incidents.count_groups(IncidentQuery())
    assert dict(groups) == {
        (Severity.CRITICAL, IncidentStatus.NEW): 1,
        (Severity.HIGH, IncidentStatus.NEW): 1,
        (Severity.HIGH, IncidentStatus.IN_PROGRESS): 1,
        (Severity.HIGH, IncidentStatus.RESOLVED): 1,
    }
    assert dict(assigned) == {(Severity.HIGH, IncidentStatus.IN_PROGRESS): 1}
    assert dict(searched) == {(Severity.HIGH, IncidentStatus.NEW): 1}
    assert dict(late) == {(Severity.HIGH, IncidentStatus.RESOLVED): 1}
    assert sum(everyone.values()) == 5


def _execution(execution_id: str, incident_id: str, minute: float) -> Execution:
    return Execution(
        id=execution_id,
        company_id="acme",
        incident_id=incident_id,
        runbook_id="rb-1",
        status=ExecutionStatus.SUCCESS,
        created_at=at(minute),
        requested_by="system",
    )


async def test_executions_of_an_incident_come_newest_first_in_pages(
    store: UnitOfWorkFactory,
) -> None:
    async with store() as uow:
        for e in (
            _execution("x1", "i1", 0),
            _execution("x2", "i1", 5),
            _execution("x3", "i1", 5),
            _execution("x4", "i1", 9),
            _execution("other", "i2", 7),
        ):
            await uow.executions.add(e)
        await uow.commit()
    seen: list[str] = []
    cursor = None
    pages = 0
    async with store() as uow:
        while True:
            page = await uow.executions.for_incident("i1", cursor, 2)
            seen += [e.id for e in page.items]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert (await uow.executions.for_incident("nothing")).items == ()
        one = (await uow.executions.for_incident("i2")).items
    assert seen == ["x4", "x3", "x2", "x1"]
    assert pages == 2
    assert [e.id for e in one] == ["other"]


async def test_a_foreign_execution_cursor_is_a_validation_error(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        with pytest.raises(ValidationError) as caught:
            await uow.executions.for_incident("i1", "not-a-cursor", 10)
    assert caught.value.errors[0]["field"] == "cursor"
