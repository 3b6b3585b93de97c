"""Alert repository contract: membership order, merges, filters, newest-first pages."""

from __future__ import annotations

import pytest

from alertwhisperer_core import Alert, AlertStatus, Severity, ValidationError
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core.ports import AlertQuery, UnitOfWorkFactory

from .records import alert, at


async def _add(store: UnitOfWorkFactory, *alerts: tuple[Alert, str | None]) -> None:
    async with store() as uow:
        for a, incident_id in alerts:
            await uow.alerts.add(a, incident_id)
        await uow.commit()


async def _ids(store: UnitOfWorkFactory, query: AlertQuery) -> list[str]:
    async with store() as uow:
        return [a.id for a, _ in (await uow.alerts.list(query)).items]


async def test_alert_round_trips_with_every_field(store: UnitOfWorkFactory) -> None:
    full = alert(
        "a-1", labels={"env": "prod", "ünï": "cödé"}, delivery_id="d-9", fingerprint="fp1",
        source="alertmanager", event_time_clamped=True, raw=b'{"x": "\xff\x00"}',
        event_time=at(-3, micro=7), received_at=at(0, micro=123456), message="Ünïcode ✓",
    )  # fmt: skip
    await _add(store, (full, "inc-1"))
    async with store() as uow:
        assert await uow.alerts.get("a-1") == (full, "inc-1")


async def test_alert_without_incident_round_trips(store: UnitOfWorkFactory) -> None:
    await _add(store, (alert("a-1"), None))
    async with store() as uow:
        assert await uow.alerts.get("a-1") == (alert("a-1"), None)


async def test_unknown_alert_is_none(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert await uow.alerts.get("nope") is None


async def test_alert_ids_of_an_incident_come_in_insertion_order(store: UnitOfWorkFactory) -> None:
    await _add(store, (alert("z"), "inc-1"), (alert("a"), "inc-1"), (alert("m"), "inc-2"))
    await _add(store, (alert("b"), "inc-1"))
    async with store() as uow:
        assert await uow.alerts.ids_for_incident("inc-1") == ["z", "a", "b"]
        assert await uow.alerts.ids_for_incident("none") == []


async def test_reassign_appends_moved_alerts_after_the_targets_own(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, (alert("t1"), "target"), (alert("o1"), "other"), (alert("t2"), "target"),
               (alert("o2"), "other"))  # fmt: skip
    async with store() as uow:
        await uow.alerts.reassign("other", "target")
        await uow.alerts.add(alert("t3"), "target")
        await uow.commit()
    async with store() as uow:
        assert await uow.alerts.ids_for_incident("target") == ["t1", "t2", "o1", "o2", "t3"]
        assert await uow.alerts.ids_for_incident("other") == []
        moved = await uow.alerts.get("o2")
        assert moved is not None
        assert moved[1] == "target"


async def test_reassign_sees_alerts_added_in_the_same_unit_of_work(
    store: UnitOfWorkFactory,
) -> None:
    async with store() as uow:
        await uow.alerts.add(alert("o1"), "other")
        await uow.alerts.reassign("other", "target")
        await uow.commit()
    async with store() as uow:
        assert await uow.alerts.ids_for_incident("target") == ["o1"]


async def test_reassign_of_an_empty_incident_changes_nothing(store: UnitOfWorkFactory) -> None:
    await _add(store, (alert("t1"), "target"))
    async with store() as uow:
        await uow.alerts.reassign("empty", "target")
        await uow.commit()
    async with store() as uow:
        assert await uow.alerts.ids_for_incident("target") == ["t1"]


async def test_alerts_list_newest_received_first_then_id_descending(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        (alert("b", received_at=at(1)), None), (alert("a", received_at=at(1)), None),
        (alert("c", received_at=at(0)), None), (alert("d", received_at=at(0, micro=1)), None),
        (alert("B", received_at=at(1)), None),
    )  # fmt: skip
    assert await _ids(store, AlertQuery()) == ["b", "a", "B", "d", "c"]


async def test_alerts_list_only_visible_companies(store: UnitOfWorkFactory) -> None:
    await _add(store, (alert("a1", "acme"), None), (alert("g1", "globex"), None))
    assert await _ids(store, AlertQuery(company_ids=frozenset({"globex"}))) == ["g1"]
    assert await _ids(store, AlertQuery(company_ids=frozenset())) == []


async def test_alerts_filter_by_incident_severity_and_status(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        (alert("a1", severity=Severity.CRITICAL), "inc-1"),
        (alert("a2", severity=Severity.LOW, status=AlertStatus.RESOLVED), "inc-1"),
        (alert("a3", severity=Severity.CRITICAL), "inc-2"),
    )
    assert await _ids(store, AlertQuery(incident_id="inc-1")) == ["a2", "a1"]
    assert await _ids(store, AlertQuery(severity=Severity.CRITICAL)) == ["a3", "a1"]
    assert await _ids(store, AlertQuery(status="resolved")) == ["a2"]


async def test_alerts_q_matches_message_or_signature_case_insensitively(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        (alert("m", message="Disk FULL on /var", signature="x"), None),
        (alert("s", message="nothing", signature="DISK_full"), None),
        (alert("u", message="Überlast im Kühlraum", signature="y"), None),
        (alert("n", message="cpu", signature="cpu_high"), None),
        (alert("p", message="100%_done", signature="z"), None),
    )
    assert await _ids(store, AlertQuery(q="disk")) == ["s", "m"]
    assert await _ids(store, AlertQuery(q="ÜBERLAST")) == ["u"]
    assert await _ids(store, AlertQuery(q="%_")) == ["p"]
    assert len(await _ids(store, AlertQuery(q=""))) == 5


async def test_alerts_time_range_is_on_event_time_since_inclusive_until_exclusive(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, *((alert(f"a{n}", event_time=at(n)), None) for n in range(4)))
    assert await _ids(store, AlertQuery(since=at(1), until=at(3))) == ["a2", "a1"]


async def test_alert_pages_walk_every_alert_once_with_issued_cursors(
    store: UnitOfWorkFactory,
) -> None:
    alerts = [alert(f"a{n}", received_at=at(n // 2)) for n in range(7)]
    await _add(store, *((a, None) for a in alerts))
    expected = sorted(alerts, key=lambda a: (a.received_at.isoformat(), a.id), reverse=True)
    seen: list[str] = []
    cursor = None
    async with store() as uow:
        while True:
            page = await uow.alerts.list(AlertQuery(limit=3, cursor=cursor))
            seen += [a.id for a, _ in page.items]
            if page.next_cursor is None:
                break
            last = page.items[-1][0]
            assert page.next_cursor == encode_cursor(last.received_at.isoformat(), last.id)
            cursor = page.next_cursor
    assert seen == [a.id for a in expected]


async def test_exactly_full_last_page_has_no_cursor(store: UnitOfWorkFactory) -> None:
    await _add(store, *((alert(f"a{n}"), None) for n in range(3)))
    async with store() as uow:
        page = await uow.alerts.list(AlertQuery(limit=3))
    assert len(page.items) == 3
    assert page.next_cursor is None


async def test_malformed_alert_cursor_is_a_validation_error_naming_cursor(
    store: UnitOfWorkFactory,
) -> None:
    async with store() as uow:
        with pytest.raises(ValidationError) as raised:
            await uow.alerts.list(AlertQuery(cursor="not-a-cursor!"))
    assert raised.value.errors[0]["field"] == "cursor"


async def test_alert_count_filters_by_company_and_event_time(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        (alert("a1", event_time=at(0)), None), (alert("a2", event_time=at(5)), "i"),
        (alert("g1", "globex", event_time=at(5)), None),
    )  # fmt: skip
    async with store() as uow:
        assert await uow.alerts.count(None, None, None) == 3
        assert await uow.alerts.count(frozenset({"acme"}), at(1), None) == 1
        assert await uow.alerts.count(frozenset({"acme", "globex"}), None, at(5)) == 1
