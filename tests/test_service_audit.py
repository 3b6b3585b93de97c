"""The audit log's read side and the KPI use case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alertwhisperer_core import AuditEntry, IncidentStatus, NotFound, PermissionDenied, Role, User
from alertwhisperer_core.service import (
    AuditFilter,
    IncidentChanges,
    KpiFilter,
    company_kpis,
    export_audit,
    list_audit,
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
    }
    return world, users


async def _entries(world: World, *specs: tuple[str, str | None, str | None]) -> None:
    async with world.store() as uow:
        for i, (action, company, user) in enumerate(specs):
            await uow.audit.append(
                AuditEntry(
                    id=f"log-{i:03d}",
                    timestamp=T0 + timedelta(seconds=i),
                    user_id=user,
                    user_name=user or "system",
                    action=action,
                    company_id=company,
                )
            )
        await uow.commit()


async def test_company_admin_sees_only_their_companies_entries() -> None:
    world, users = await _world()
    await _entries(
        world,
        ("config_changed", "acme", "admin"),
        ("config_changed", "globex", "x"),
        ("login_failed", None, None),
    )
    page = await list_audit(world.services, users["admin"], AuditFilter())
    assert [e.company_id for e in page.items] == ["acme"]
    everything = await list_audit(world.services, users["msp"], AuditFilter())
    assert len(everything.items) == 3


async def test_audit_filters_by_action_user_and_time() -> None:
    world, users = await _world()
    await _entries(
        world,
        ("config_changed", "acme", "admin"),
        ("user_created", "acme", "admin"),
        ("config_changed", "acme", "msp"),
        ("config_changed", "acme", "admin"),
    )
    page = await list_audit(
        world.services,
        users["msp"],
        AuditFilter(
            action="config_changed",
            user_id="admin",
            since=T0 + timedelta(seconds=1),
        ),
    )
    assert [e.id for e in page.items] == ["log-003"]


async def test_technicians_may_not_read_the_audit_log() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await list_audit(world.services, users["tech"], AuditFilter())


async def test_a_foreign_company_filter_is_not_found() -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await list_audit(world.services, users["admin"], AuditFilter(company_id="globex"))


async def test_export_yields_every_matching_entry_across_pages_newest_first() -> None:
    world, users = await _world()
    await _entries(world, *[("config_changed", "acme", "admin")] * 1203)
    entries = [e async for e in await export_audit(world.services, users["admin"], AuditFilter())]
    assert len(entries) == 1203
    assert [e.id for e in entries[:2]] == ["log-1202", "log-1201"]


async def test_export_checks_access_before_producing_anything() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await export_audit(world.services, users["tech"], AuditFilter())


async def test_kpis_count_noise_reduction_and_manual_mttr() -> None:
    world, users = await _world()
    for _ in range(4):
        outcome = await world.post(generic(at=world.clock.now()))
    incident_id = str(outcome.body["incident_ids"][0])
    await world.post(generic(asset="other", at=world.clock.now()))
    world.clock.advance(minutes(30))
    await update_incident(
        world.services, users["tech"], incident_id, IncidentChanges(status=IncidentStatus.RESOLVED)
    )
    period = await company_kpis(world.services, users["tech"], KpiFilter())
    report = period.report
    assert (report.alert_count, report.incident_count) == (5, 2)
    assert report.noise_reduction.value == pytest.approx(60.0)
    assert report.mttr_manual_minutes.value == pytest.approx(30.0)
    assert period.until == world.clock.now()
    assert period.since == world.clock.now() - timedelta(days=30)


async def test_kpis_of_a_foreign_company_are_not_found() -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await company_kpis(world.services, users["tech"], KpiFilter(company_id="globex"))


async def test_kpis_only_count_the_users_companies() -> None:
    world, users = await _world()
    await world.post(generic(at=world.clock.now()), "globex")
    period = await company_kpis(world.services, users["tech"], KpiFilter())
    assert period.report.alert_count == 0
    assert (await company_kpis(world.services, users["msp"], KpiFilter())).report.alert_count == 1
