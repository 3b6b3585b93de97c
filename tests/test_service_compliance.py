"""Patch compliance use cases over the in-memory store: sync, read back, and the KPI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alertwhisperer_core import (
    Asset,
    InstancePatchState,
    NotFound,
    PermissionDenied,
    Role,
    User,
)
from alertwhisperer_core.service import (
    ComplianceNotConfigured,
    ComplianceSourceFailed,
    KpiFilter,
    company_kpis,
    get_compliance,
    sync_compliance,
)

from .support.world import T0, World, make_world


class Fleet:
    """What Patch Manager reports: every instance the server's credentials can see."""

    def __init__(self, *states: InstancePatchState) -> None:
        self.states = list(states)
        self.asked: list[str] = []

    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        self.asked.append(company_id)
        return list(self.states)


class Refusing:
    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        raise ComplianceSourceFailed("AWS Systems Manager DescribeInstanceInformation failed")


async def _world() -> tuple[World, dict[str, User]]:
    world = make_world()
    await world.add_company("acme")
    await world.add_company("globex")
    async with world.store() as uow:
        for asset in (
            Asset("a1", "acme", "web-01", environment="production", instance_id="i-web"),
            Asset("a2", "acme", "db-01", instance_id="i-db"),
            Asset("a3", "acme", "laptop"),  # no instance: not in Patch Manager
            Asset("g1", "globex", "erp", environment="production", instance_id="i-erp"),
        ):
            await uow.assets.add(asset)
        await uow.commit()
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "admin": await world.add_user("admin", Role.COMPANY_ADMIN, "acme"),
        "tech": await world.add_user("tech", Role.TECHNICIAN, "acme"),
        "other": await world.add_user("other", Role.COMPANY_ADMIN, "globex"),
    }
    return world, users


FLEET = Fleet(
    InstancePatchState(
        "i-web", installed=40, missing=2, critical_missing=1, security_missing=2,
        last_operation_at=T0 - timedelta(hours=5),
    ),
    InstancePatchState(
        "i-db", environment="staging", installed=55, last_operation_at=T0 - timedelta(hours=2)
    ),
    InstancePatchState("i-erp", missing=9, critical_missing=9),
    InstancePatchState("i-stranger", failed=3),
)  # fmt: skip


async def test_sync_keeps_the_companys_instances_and_prefers_the_assets_environment() -> None:
    world, users = await _world()
    synced = await sync_compliance(world.services, users["admin"], "acme", FLEET)
    assert [s.instance_id for s in synced.instances] == ["i-db", "i-web"]
    assert [s.environment for s in synced.instances] == ["staging", "production"]
    summary = synced.summary
    assert (summary.total, summary.compliant, summary.percent) == (2, 1, 50.0)
    assert (summary.critical_missing, summary.security_missing, summary.missing) == (1, 2, 2)
    assert summary.last_scan_at == T0 - timedelta(hours=2)
    assert {name: e.percent for name, e in summary.by_environment.items()} == {
        "production": 0.0,
        "staging": 100.0,
    }
    assert synced.synced_at == world.clock.now()


async def test_sync_is_audited_with_its_figures() -> None:
    world, users = await _world()
    await sync_compliance(world.services, users["admin"], "acme", FLEET)
    (entry,) = [e for e in world.store.audit if e.action == "compliance_synced"]
    assert entry.company_id == "acme"
    assert entry.user_id == "admin"
    assert entry.details == {
        "instances": 2, "compliant": 1, "critical_missing": 1, "security_missing": 2,
        "failed": 0, "ignored": 2,
    }  # fmt: skip


async def test_get_answers_the_cached_figures_of_the_last_sync() -> None:
    world, users = await _world()
    synced = await sync_compliance(world.services, users["msp"], "acme", FLEET)
    world.clock.advance(timedelta(minutes=30))
    cached = await get_compliance(world.services, users["tech"], "acme")
    assert cached == synced


async def test_a_new_sync_replaces_the_cache() -> None:
    world, users = await _world()
    await sync_compliance(world.services, users["admin"], "acme", FLEET)
    world.clock.advance(timedelta(hours=1))
    later = Fleet(InstancePatchState("i-web", installed=42))
    await sync_compliance(world.services, users["admin"], "acme", later)
    cached = await get_compliance(world.services, users["admin"], "acme")
    assert [s.instance_id for s in cached.instances] == ["i-web"]
    assert cached.summary.percent == 100.0
    assert cached.synced_at == world.clock.now()


async def test_an_instance_reported_twice_counts_once_with_its_newest_state() -> None:
    world, users = await _world()
    fleet = Fleet(
        InstancePatchState("i-web", missing=4, last_operation_at=T0 - timedelta(hours=3)),
        InstancePatchState("i-web", installed=9, last_operation_at=T0 - timedelta(hours=1)),
        InstancePatchState("i-web", missing=1),
    )
    synced = await sync_compliance(world.services, users["admin"], "acme", fleet)
    assert synced.instances == (
        InstancePatchState(
            "i-web", "production", installed=9, last_operation_at=T0 - timedelta(hours=1)
        ),
    )


async def test_before_any_sync_the_cache_is_empty() -> None:
    world, users = await _world()
    cached = await get_compliance(world.services, users["tech"], "acme")
    assert cached.instances == ()
    assert cached.synced_at is None
    assert (cached.summary.total, cached.summary.percent) == (0, None)


async def test_without_a_source_sync_says_aws_is_not_configured_and_changes_nothing() -> None:
    world, users = await _world()
    with pytest.raises(ComplianceNotConfigured, match="AWS is not configured") as raised:
        await sync_compliance(world.services, users["admin"], "acme", None)
    assert raised.value.error_status_hint == 503
    assert (await get_compliance(world.services, users["admin"], "acme")).synced_at is None
    assert not [e for e in world.store.audit if e.action == "compliance_synced"]


async def test_a_failing_source_changes_nothing() -> None:
    world, users = await _world()
    await sync_compliance(world.services, users["admin"], "acme", FLEET)
    before = await get_compliance(world.services, users["admin"], "acme")
    with pytest.raises(ComplianceSourceFailed):
        await sync_compliance(world.services, users["admin"], "acme", Refusing())
    assert await get_compliance(world.services, users["admin"], "acme") == before


async def test_a_technician_may_view_but_not_sync() -> None:
    world, users = await _world()
    fleet = Fleet(*FLEET.states)
    with pytest.raises(PermissionDenied):
        await sync_compliance(world.services, users["tech"], "acme", fleet)
    assert fleet.asked == []


@pytest.mark.parametrize("source", [FLEET, None], ids=["configured", "unconfigured"])
async def test_another_tenants_company_is_not_found_for_sync(source: Fleet | None) -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await sync_compliance(world.services, users["other"], "acme", source)


async def test_another_tenants_compliance_is_not_found() -> None:
    world, users = await _world()
    await sync_compliance(world.services, users["msp"], "acme", FLEET)
    with pytest.raises(NotFound):
        await get_compliance(world.services, users["other"], "acme")


async def test_an_unknown_company_is_not_found() -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await get_compliance(world.services, users["msp"], "nope")
    with pytest.raises(NotFound):
        await sync_compliance(world.services, users["msp"], "nope", FLEET)


async def test_the_kpi_has_no_value_before_any_sync() -> None:
    world, users = await _world()
    period = await company_kpis(world.services, users["admin"], KpiFilter(company_id="acme"))
    assert period.report.patch_compliance.value is None


async def test_the_kpi_uses_the_cached_compliance_of_the_company() -> None:
    world, users = await _world()
    await sync_compliance(world.services, users["admin"], "acme", FLEET)
    period = await company_kpis(world.services, users["admin"], KpiFilter(company_id="acme"))
    kpi = period.report.patch_compliance
    assert (kpi.value, kpi.band is not None and kpi.band.value) == (50.0, "Needs Improvement")


async def test_the_msp_kpi_counts_every_synced_company_separately() -> None:
    world, users = await _world()
    await sync_compliance(world.services, users["msp"], "acme", FLEET)
    await sync_compliance(world.services, users["msp"], "globex", FLEET)
    everyone = await company_kpis(world.services, users["msp"], KpiFilter())
    # acme: i-db compliant, i-web not; globex: i-erp not.
    assert everyone.report.patch_compliance.value == pytest.approx(100 / 3)
    acme_only = await company_kpis(world.services, users["admin"], KpiFilter())
    assert acme_only.report.patch_compliance.value == 50.0
