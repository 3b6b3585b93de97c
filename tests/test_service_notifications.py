"""Where notifications are raised (SPEC §6, §7, §10): critical alerts, assignments, approval
requests and failed executions; stored in the same unit of work and announced after commit."""

from __future__ import annotations

from alertwhisperer_core import (
    CorrelationSettings,
    ExecutionStatus,
    Policy,
    Risk,
    Role,
    Runbook,
    User,
)
from alertwhisperer_core._notifications import Notification, NotificationType
from alertwhisperer_core.service import (
    IncidentChanges,
    execute_runbook,
    run_execution,
    update_incident,
)

from .support.world import T0, World, generic, make_world, minutes
from .test_service_run_execution import ScriptedExecutor


async def _world(**company: object) -> tuple[World, dict[str, User]]:
    world = make_world()
    await world.add_company("acme", **company)  # type: ignore[arg-type]
    await world.add_company("globex")
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "admin": await world.add_user("admin", Role.COMPANY_ADMIN, "acme"),
        "tech": await world.add_user("tech", Role.TECHNICIAN, "acme"),
        "other": await world.add_user("other", Role.TECHNICIAN, "globex"),
    }
    return world, users


def _notes(world: World, type: NotificationType | None = None) -> list[Notification]:
    return sorted(
        (n for n in world.store.notifications.values() if type is None or n.type is type),
        key=lambda n: (n.user_id, n.id),
    )


def _pushed(world: World) -> list[tuple[str, str]]:
    return [
        (e.data["user_id"], e.data["type"]) for e in world.events.published
        if e.type == "notification"
    ]  # fmt: skip


async def test_a_critical_alert_notifies_msp_admins_and_the_companys_people() -> None:
    world, _ = await _world()
    outcome = await world.post(generic(at=T0))
    critical = _notes(world, NotificationType.CRITICAL)
    assert [n.user_id for n in critical] == ["admin", "msp", "tech"]
    assert {n.link_id for n in critical} == set(outcome.body["incident_ids"])


async def test_each_stored_notification_is_pushed_to_its_user() -> None:
    world, _ = await _world()
    await world.post(generic(at=T0))
    assert sorted(_pushed(world)) == sorted((n.user_id, n.type.value) for n in _notes(world))


async def test_more_critical_alerts_on_the_same_incident_do_not_notify_again() -> None:
    world, _ = await _world()
    await world.post(generic(at=T0))
    await world.post(generic(at=T0 + minutes(1)))
    assert len(_notes(world, NotificationType.CRITICAL)) == 3


async def test_a_warning_alert_notifies_no_one_of_a_critical() -> None:
    world, _ = await _world()
    await world.post(generic(severity="warning", at=T0))
    assert _notes(world, NotificationType.CRITICAL) == []


async def test_a_critical_alert_raising_an_incident_to_critical_notifies() -> None:
    world, _ = await _world()
    await world.post(generic(severity="warning", at=T0))
    await world.post(generic(at=T0 + minutes(1)))
    assert len(_notes(world, NotificationType.CRITICAL)) == 3
    assert len(world.store.incidents) == 1


async def test_a_new_incident_notifies_the_technician_it_was_assigned_to() -> None:
    world, _ = await _world()
    await world.post(generic(severity="warning", at=T0))
    (note,) = _notes(world)
    assert (note.user_id, note.type, note.link_type) == ("tech", NotificationType.INFO, "incident")


async def test_incidents_in_maintenance_notify_nobody() -> None:
    world, _ = await _world(policy=Policy(maintenance_windows=("Thu 11:00-13:00",)))
    await world.post(generic(at=T0))
    assert _notes(world) == []
    assert _pushed(world) == []


async def test_a_pending_group_notifies_only_once_it_becomes_an_incident() -> None:
    world, _ = await _world(correlation=CorrelationSettings(min_alerts=2))
    await world.post(generic(at=T0))
    assert _notes(world) == []
    await world.post(generic(at=T0 + minutes(1)))
    assert len(_notes(world, NotificationType.CRITICAL)) == 3


async def test_a_rolled_back_delivery_leaves_no_notification() -> None:
    world, _ = await _world()
    await world.post(generic(at=T0), headers={"x-delivery-id": "d-1"})
    await world.post(generic(at=T0), headers={"x-delivery-id": "d-1"})  # a duplicate
    assert len(_notes(world, NotificationType.CRITICAL)) == 3


async def test_assigning_an_incident_notifies_the_assignee() -> None:
    world, users = await _world()
    outcome = await world.post(generic(severity="warning", at=T0))
    incident_id = outcome.body["incident_ids"][0]
    await update_incident(
        world.services, users["tech"], incident_id, IncidentChanges(assigned_to="admin")
    )
    note = _notes(world)[0]
    assert (note.user_id, note.link_id, note.type) == ("admin", incident_id, NotificationType.INFO)
    assert ("admin", "info") in _pushed(world)


async def test_assigning_an_incident_to_oneself_notifies_nobody() -> None:
    world, users = await _world()
    outcome = await world.post(generic(severity="warning", at=T0))
    before = len(_notes(world))
    await update_incident(
        world.services,
        users["admin"],
        outcome.body["incident_ids"][0],
        IncidentChanges(assigned_to="admin"),
    )
    assert len(_notes(world)) == before


async def _add_runbook(world: World, risk: Risk, signature: str = "disk_full") -> None:
    async with world.store() as uow:
        await uow.runbooks.add(
            Runbook(id="rb", name="Clean old logs", signature=signature, risk=risk,
                    actions=("rm -f /var/log/*.gz",), timeout_seconds=60)
        )  # fmt: skip
        await uow.commit()


async def test_an_approval_requested_by_ingest_notifies_who_may_decide() -> None:
    world, _ = await _world()
    await _add_runbook(world, Risk.MEDIUM)
    await world.post(generic(severity="warning", at=T0))
    warnings = _notes(world, NotificationType.WARNING)
    assert [n.user_id for n in warnings] == ["admin", "msp"]
    assert {n.link_type for n in warnings} == {"approval"}
    assert set(world.store.approvals) == {n.link_id for n in warnings}


async def test_an_approval_requested_by_a_technician_notifies_who_may_decide() -> None:
    world, users = await _world()
    outcome = await world.post(generic(severity="warning", at=T0))
    await _add_runbook(world, Risk.HIGH, signature="other")
    await execute_runbook(world.services, users["tech"], outcome.body["incident_ids"][0], "rb")
    warnings = _notes(world, NotificationType.WARNING)
    assert [n.user_id for n in warnings] == ["msp"]
    assert ("msp", "warning") in _pushed(world)


async def test_a_failed_execution_notifies_the_assignee_and_company_admins() -> None:
    world, users = await _world()
    outcome = await world.post(generic(severity="warning", at=T0))
    await _add_runbook(world, Risk.LOW, signature="other")
    execution = await execute_runbook(
        world.services, users["msp"], outcome.body["incident_ids"][0], "rb"
    )
    await run_execution(world.services, ScriptedExecutor(ExecutionStatus.FAILED), execution.id)
    failed = [n for n in _notes(world, NotificationType.WARNING) if n.link_type == "execution"]
    assert [n.user_id for n in failed] == ["admin", "tech"]
    assert {n.link_id for n in failed} == {execution.id}


async def test_a_healed_execution_notifies_nobody() -> None:
    world, users = await _world()
    outcome = await world.post(generic(severity="warning", at=T0))
    await _add_runbook(world, Risk.LOW, signature="other")
    execution = await execute_runbook(
        world.services, users["msp"], outcome.body["incident_ids"][0], "rb"
    )
    await run_execution(world.services, ScriptedExecutor(ExecutionStatus.SUCCESS), execution.id)
    assert [n for n in _notes(world) if n.link_type == "execution"] == []
