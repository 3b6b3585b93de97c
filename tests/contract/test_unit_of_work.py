"""Unit of work contract: commit makes writes visible, anything else leaves no trace."""

from __future__ import annotations

import pytest

from alertwhisperer_core.ports import AuditQuery, UnitOfWorkFactory

from .records import T0, alert, audit_entry, company, incident


class Boom(Exception):
    pass


async def _write_everything(store: UnitOfWorkFactory, uow: object) -> None:
    u = uow  # typed loosely: every back end's unit of work has these repositories
    await u.companies.add(company())  # type: ignore[attr-defined]
    await u.incidents.add(incident("inc-1"))  # type: ignore[attr-defined]
    await u.alerts.add(alert("a-1"), "inc-1")  # type: ignore[attr-defined]
    await u.audit.append(audit_entry("e-1"))  # type: ignore[attr-defined]


async def _nothing_stored(store: UnitOfWorkFactory) -> bool:
    async with store() as uow:
        return (
            await uow.companies.get("acme") is None
            and await uow.incidents.get("inc-1") is None
            and await uow.alerts.get("a-1") is None
            and not (await uow.audit.list(AuditQuery())).items
        )


async def test_committed_writes_are_visible_to_the_next_unit_of_work(
    store: UnitOfWorkFactory,
) -> None:
    async with store() as uow:
        await _write_everything(store, uow)
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.get("acme") == company()
        assert await uow.incidents.get("inc-1") == incident("inc-1")
        assert await uow.alerts.get("a-1") == (alert("a-1"), "inc-1")


async def test_leaving_without_commit_stores_nothing(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await _write_everything(store, uow)
    assert await _nothing_stored(store)


async def test_an_exception_after_writes_leaves_no_trace(store: UnitOfWorkFactory) -> None:
    async def fail_midway() -> None:
        async with store() as uow:
            await _write_everything(store, uow)
            raise Boom

    with pytest.raises(Boom):
        await fail_midway()
    assert await _nothing_stored(store)


async def test_rollback_forgets_writes_since_the_last_commit_only(
    store: UnitOfWorkFactory,
) -> None:
    async with store() as uow:
        await uow.companies.add(company("kept"))
        await uow.commit()
        await uow.companies.add(company("dropped"))
        await uow.rollback()
        await uow.commit()
    async with store() as uow:
        assert [c.id for c in await uow.companies.list()] == ["kept"]


async def test_writes_after_a_commit_need_their_own_commit(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.alerts.add(alert("a-1"), None)
        await uow.commit()
        await uow.alerts.add(alert("a-2"), None)
    async with store() as uow:
        assert await uow.alerts.get("a-1") is not None
        assert await uow.alerts.get("a-2") is None


async def test_a_unit_of_work_reads_its_own_uncommitted_writes(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await _write_everything(store, uow)
        assert await uow.alerts.ids_for_incident("inc-1") == ["a-1"]
        assert [i.id for i in await uow.incidents.open_for_key("acme", incident("x").key)] == [
            "inc-1"
        ]
        assert [e.id for e in (await uow.audit.list(AuditQuery())).items] == ["e-1"]


async def test_an_empty_unit_of_work_commits_and_exits_cleanly(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.list() == []


async def test_sequential_units_of_work_see_each_others_commits(store: UnitOfWorkFactory) -> None:
    for n in range(3):
        async with store() as uow:
            await uow.alerts.add(alert(f"a-{n}", received_at=T0), "inc-1")
            await uow.commit()
    async with store() as uow:
        assert await uow.alerts.ids_for_incident("inc-1") == ["a-0", "a-1", "a-2"]
