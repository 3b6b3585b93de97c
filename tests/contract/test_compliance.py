"""Compliance repository contract: exact round trips, whole-cache replacement, per company."""

from __future__ import annotations

from typing import Any

import pytest

from alertwhisperer_core import InstancePatchState
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import at


def state(instance_id: str, **kw: Any) -> InstancePatchState:
    return InstancePatchState(instance_id=instance_id, **kw)


async def _replace(
    store: UnitOfWorkFactory, company_id: str, states: list[InstancePatchState], minutes: float
) -> None:
    async with store() as uow:
        await uow.compliance.replace(company_id, states, at(minutes))
        await uow.commit()


async def test_a_company_never_synced_has_no_states_and_no_sync_time(
    store: UnitOfWorkFactory,
) -> None:
    async with store() as uow:
        assert await uow.compliance.states("acme") == []
        assert await uow.compliance.last_synced("acme") is None


async def test_states_round_trip_exactly_in_instance_id_order(store: UnitOfWorkFactory) -> None:
    full = state(
        "i-0b", environment="production", installed=41, missing=3, critical_missing=1,
        security_missing=2, failed=1, last_operation_at=at(-90, micro=7),
    )  # fmt: skip
    bare = state("i-0a")
    await _replace(store, "acme", [full, bare, state("mi-01", environment="staging")], 5)
    async with store() as uow:
        assert await uow.compliance.states("acme") == [
            bare,
            full,
            state("mi-01", environment="staging"),
        ]
        assert await uow.compliance.last_synced("acme") == at(5)


async def test_replace_forgets_instances_missing_from_the_new_sync(
    store: UnitOfWorkFactory,
) -> None:
    await _replace(store, "acme", [state("i-1", missing=2), state("i-2")], 1)
    await _replace(store, "acme", [state("i-2", installed=9), state("i-3")], 2)
    async with store() as uow:
        assert await uow.compliance.states("acme") == [state("i-2", installed=9), state("i-3")]
        assert await uow.compliance.last_synced("acme") == at(2)


async def test_an_empty_sync_empties_the_cache_and_still_records_its_time(
    store: UnitOfWorkFactory,
) -> None:
    await _replace(store, "acme", [state("i-1")], 1)
    await _replace(store, "acme", [], 3)
    async with store() as uow:
        assert await uow.compliance.states("acme") == []
        assert await uow.compliance.last_synced("acme") == at(3)


async def test_companies_have_separate_caches(store: UnitOfWorkFactory) -> None:
    # The same instance id under two companies is two entries (one AWS account, two tenants).
    await _replace(store, "acme", [state("i-1", missing=1)], 1)
    await _replace(store, "globex", [state("i-1"), state("i-9")], 2)
    await _replace(store, "acme", [state("i-2")], 3)
    async with store() as uow:
        assert await uow.compliance.states("globex") == [state("i-1"), state("i-9")]
        assert await uow.compliance.last_synced("globex") == at(2)
        assert await uow.compliance.states("acme") == [state("i-2")]


async def test_replace_without_commit_changes_nothing(store: UnitOfWorkFactory) -> None:
    await _replace(store, "acme", [state("i-1")], 1)
    async with store() as uow:
        await uow.compliance.replace("acme", [state("i-2")], at(2))
        await uow.compliance.replace("globex", [state("i-3")], at(2))
    async with store() as uow:
        assert await uow.compliance.states("acme") == [state("i-1")]
        assert await uow.compliance.last_synced("acme") == at(1)
        assert await uow.compliance.states("globex") == []
        assert await uow.compliance.last_synced("globex") is None


async def test_a_unit_of_work_reads_its_own_replacement(store: UnitOfWorkFactory) -> None:
    await _replace(store, "acme", [state("i-1")], 1)
    async with store() as uow:
        await uow.compliance.replace("acme", [state("i-2")], at(2))
        assert await uow.compliance.states("acme") == [state("i-2")]
        assert await uow.compliance.last_synced("acme") == at(2)


@pytest.mark.parametrize("count", [0, 1, 250])
async def test_a_fleet_of_any_size_round_trips(store: UnitOfWorkFactory, count: int) -> None:
    fleet = [state(f"i-{n:05d}", installed=n, missing=n % 3) for n in range(count)]
    await _replace(store, "acme", list(reversed(fleet)), 1)
    async with store() as uow:
        assert await uow.compliance.states("acme") == fleet
