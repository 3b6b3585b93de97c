"""Incident and alert lists, one incident, status changes, assignment and notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core import (
    Asset,
    IncidentStatus,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Resolution,
    Role,
    Severity,
    User,
    ValidationError,
)
from alertwhisperer_core.service import (
    AlertFilter,
    IncidentChanges,
    IncidentFilter,
    NewNote,
    add_incident_note,
    get_incident,
    list_alerts,
    list_incidents,
    update_incident,
)

from .support.world import T0, World, generic, make_world, minutes


async def _world() -> tuple[World, dict[str, User]]:
    world = make_world()
    await world.add_company("acme")
    await world.add_company("globex")
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "admin": await world.add_user("admin", Role.COMPANY_ADMIN, "acme"),
        "tech": await world.add_user("tech", Role.TECHNICIAN, "acme"),
        "globex_tech": await world.add_user("globex_tech", Role.TECHNICIAN, "globex"),
    }
    return world, users


async def _incident(world: World, company: str = "acme", **payload: object) -> str:
    outcome = await world.post(generic(at=world.clock.now(), **payload), company)  # type: ignore[arg-type]
    return str(outcome.body["incident_ids"][0])


async def _critical_asset(world: World, name: str) -> None:
    async with world.store() as uow:
        await uow.assets.add(
            Asset(id=f"asset-{name}", company_id="acme", name=name, is_critical=True)
        )
        await uow.commit()


async def test_incidents_list_highest_priority_first() -> None:
    world, users = await _world()
    await _critical_asset(world, "srv-db-01")
    low = await _incident(world, asset="a", signature="s1", severity="low")
    high = await _incident(world, asset="b", signature="s2", severity="high")
    critical_asset = await _incident(world, asset="srv-db-01", signature="s3", severity="high")
    page = await list_incidents(world.services, users["tech"], IncidentFilter())
    assert [v.incident.id for v in page.items] == [critical_asset, high, low]
    assert [v.priority.score for v in page.items] == [80, 60, 10]
    assert page.items[0].asset is not None
    assert page.items[1].asset is None


async def test_listed_incidents_carry_their_alert_ids() -> None:
    world, users = await _world()
    await _incident(world)
    await world.post(generic(at=world.clock.now()))
    page = await list_incidents(world.services, users["tech"], IncidentFilter())
    assert len(page.items[0].incident.alert_ids) == 2


async def test_recent_sort_lists_latest_activity_first() -> None:
    world, users = await _world()
    first = await _incident(world, asset="a", severity="critical")
    world.clock.advance(minutes(1))
    second = await _incident(world, asset="b", severity="low")
    page = await list_incidents(world.services, users["tech"], IncidentFilter(sort="recent"))
    assert [v.incident.id for v in page.items] == [second, first]


async def test_an_unknown_sort_is_refused_naming_it() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await list_incidents(world.services, users["tech"], IncidentFilter(sort="random"))
    assert error.value.errors[0]["field"] == "sort"


@given(
    severities=st.lists(st.sampled_from(list(Severity)), min_size=0, max_size=12),
    limit=st.integers(1, 5),
    sort=st.sampled_from(["priority", "recent"]),
)
async def test_cursor_pages_cover_the_whole_list_once_in_order(
    severities: list[Severity], limit: int, sort: str
) -> None:
    world, users = await _world()
    for i, severity in enumerate(severities):
        await _incident(world, asset=f"srv-{i}", severity=severity.value)
        world.clock.advance(timedelta(seconds=7))
    everything = await list_incidents(
        world.services, users["msp"], IncidentFilter(sort=sort, limit=500)
    )
    seen: list[str] = []
    cursor = None
    while True:
        page = await list_incidents(
            world.services, users["msp"], IncidentFilter(sort=sort, cursor=cursor, limit=limit)
        )
        assert len(page.items) <= limit
        seen.extend(v.incident.id for v in page.items)
        # Time passing between pages must not reorder a priority list (age decay).
        world.clock.advance(timedelta(hours=3))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [v.incident.id for v in everything.items]


async def test_a_cursor_from_another_sort_is_refused() -> None:
    world, users = await _world()
    for i in range(3):
        await _incident(world, asset=f"srv-{i}")
    page = await list_incidents(world.services, users["tech"], IncidentFilter(limit=1))
    assert page.next_cursor is not None
    with pytest.raises(ValidationError) as error:
        await list_incidents(
            world.services, users["tech"], IncidentFilter(sort="recent", cursor=page.next_cursor)
        )
    assert error.value.errors[0]["field"] == "cursor"


@pytest.mark.parametrize("limit", [0, 501])
async def test_limit_outside_1_to_500_is_refused(limit: int) -> None:
    world, users = await _world()
    with pytest.raises(ValidationError):
        await list_incidents(world.services, users["tech"], IncidentFilter(limit=limit))
    with pytest.raises(ValidationError):
        await list_alerts(world.services, users["tech"], AlertFilter(limit=limit))


async def test_incident_filters_combine() -> None:
    world, users = await _world()
    disk = await _incident(world, asset="a", signature="disk_full", severity="critical")
    await _incident(world, asset="b", signature="cpu_high", severity="critical")
    await _incident(world, asset="c", signature="disk_full", severity="low")
    page = await list_incidents(
        world.services, users["tech"], IncidentFilter(q="DISK", severity=Severity.CRITICAL)
    )
    assert [v.incident.id for v in page.items] == [disk]


async def test_lists_show_only_the_users_companies() -> None:
    world, users = await _world()
    ours = await _incident(world, "acme")
    await _incident(world, "globex")
    page = await list_incidents(world.services, users["tech"], IncidentFilter())
    assert [v.incident.id for v in page.items] == [ours]
    alerts = await list_alerts(world.services, users["tech"], AlertFilter())
    assert {a.company_id for a, _ in alerts.items} == {"acme"}
    assert len((await list_alerts(world.services, users["msp"], AlertFilter())).items) == 2


async def test_filtering_on_a_foreign_company_is_not_found() -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await list_incidents(world.services, users["tech"], IncidentFilter(company_id="globex"))
    with pytest.raises(NotFound):
        await list_alerts(world.services, users["tech"], AlertFilter(company_id="globex"))


async def test_alert_filters_by_incident_status_and_text() -> None:
    world, users = await _world()
    incident = await _incident(world, asset="a", message="the disk is full")
    await _incident(world, asset="b", message="cpu")
    found = await list_alerts(world.services, users["tech"], AlertFilter(q="disk is"))
    assert [i for _, i in found.items] == [incident]
    by_incident = await list_alerts(
        world.services, users["tech"], AlertFilter(incident_id=incident)
    )
    assert len(by_incident.items) == 1


async def test_time_range_must_be_in_order() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await list_alerts(
            world.services, users["tech"], AlertFilter(since=T0, until=T0 - minutes(1))
        )
    assert error.value.errors[0]["field"] == "until"


async def test_get_incident_shows_priority_breakdown_and_alerts() -> None:
    world, users = await _world()
    incident_id = await _incident(world, severity="high")
    view = await get_incident(world.services, users["tech"], incident_id)
    assert view.priority.breakdown["severity_base"] == 60
    assert len(view.incident.alert_ids) == 1


async def test_another_tenants_incident_is_not_found() -> None:
    world, users = await _world()
    theirs = await _incident(world, "globex")
    with pytest.raises(NotFound):
        await get_incident(world.services, users["tech"], theirs)
    with pytest.raises(NotFound):
        await update_incident(
            world.services, users["tech"], theirs, IncidentChanges(status=IncidentStatus.RESOLVED)
        )
    assert world.store.incidents[theirs].status is not IncidentStatus.RESOLVED


async def test_status_moves_along_the_lifecycle_and_is_audited() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    started = await update_incident(
        world.services,
        users["tech"],
        incident_id,
        IncidentChanges(status=IncidentStatus.IN_PROGRESS),
    )
    assert started.incident.status is IncidentStatus.IN_PROGRESS
    entry = world.store.audit[-1]
    assert entry.action == "incident_status_changed"
    assert entry.details == {"incident_id": incident_id, "from": "new", "to": "in_progress"}
    world.clock.advance(minutes(30))
    resolved = await update_incident(
        world.services, users["tech"], incident_id, IncidentChanges(status=IncidentStatus.RESOLVED)
    )
    assert resolved.incident.resolution is Resolution.MANUAL
    assert resolved.incident.resolved_at == world.clock.now()


async def test_resolved_incidents_do_not_reopen() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    await update_incident(
        world.services, users["tech"], incident_id, IncidentChanges(status=IncidentStatus.RESOLVED)
    )
    audit_before = len(world.store.audit)
    with pytest.raises(InvalidTransition):
        await update_incident(
            world.services, users["tech"], incident_id, IncidentChanges(status=IncidentStatus.NEW)
        )
    assert world.store.incidents[incident_id].status is IncidentStatus.RESOLVED
    assert len(world.store.audit) == audit_before


async def test_setting_the_current_status_again_changes_nothing() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    before = world.store.incidents[incident_id]
    await update_incident(
        world.services, users["tech"], incident_id, IncidentChanges(status=IncidentStatus.NEW)
    )
    assert world.store.incidents[incident_id] == before
    assert world.store.audit == [] or world.store.audit[-1].action != "incident_status_changed"


async def test_nobody_moves_an_incident_back_to_pending() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    with pytest.raises(InvalidTransition):
        await update_incident(
            world.services,
            users["tech"],
            incident_id,
            IncidentChanges(status=IncidentStatus.PENDING),
        )


async def test_assignment_to_a_user_of_the_company_is_audited_and_unassign_works() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    view = await update_incident(
        world.services, users["admin"], incident_id, IncidentChanges(assigned_to="admin")
    )
    assert view.incident.assigned_to == "admin"
    assert world.store.audit[-1].action == "incident_assigned"
    view = await update_incident(
        world.services, users["admin"], incident_id, IncidentChanges(assigned_to=None)
    )
    assert view.incident.assigned_to is None


@pytest.mark.parametrize("assignee", ["globex_tech", "nobody"])
async def test_assignment_to_someone_outside_the_company_is_refused(assignee: str) -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    with pytest.raises(ValidationError) as error:
        await update_incident(
            world.services, users["admin"], incident_id, IncidentChanges(assigned_to=assignee)
        )
    assert error.value.errors[0]["field"] == "assigned_to"


async def test_changes_are_announced_as_incident_updated() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    await update_incident(
        world.services,
        users["tech"],
        incident_id,
        IncidentChanges(status=IncidentStatus.IN_PROGRESS),
    )
    event = world.events.published[-1]
    assert (event.type, event.data["id"], event.data["status"]) == (
        "incident.updated",
        incident_id,
        "in_progress",
    )


async def test_notes_are_appended_with_their_author() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    view = await add_incident_note(
        world.services, users["tech"], incident_id, NewNote(text="  rebooted the box  ")
    )
    note = view.incident.notes[-1]
    assert (note.author_id, note.text, note.created_at) == ("tech", "rebooted the box", T0)


async def test_a_blank_note_is_refused() -> None:
    world, users = await _world()
    incident_id = await _incident(world)
    with pytest.raises(ValidationError):
        await add_incident_note(world.services, users["tech"], incident_id, NewNote(text="   "))


async def test_inactive_users_may_not_update() -> None:
    world, _ = await _world()
    incident_id = await _incident(world)
    inactive = User(
        id="gone",
        email="g@x",
        name="g",
        role=Role.TECHNICIAN,
        company_ids=frozenset({"acme"}),
        active=False,
    )
    with pytest.raises(PermissionDenied):
        await update_incident(
            world.services,
            inactive,
            incident_id,
            IncidentChanges(status=IncidentStatus.IN_PROGRESS),
        )
