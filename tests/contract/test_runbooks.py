"""Runbook repository contract: company and global runbooks."""

from __future__ import annotations

from alertwhisperer_core import HealthCheck, Risk, Runbook
from alertwhisperer_core.ports import UnitOfWorkFactory


def runbook(runbook_id: str, company_id: str | None = None, name: str = "Clean disk",
            **kw: object) -> Runbook:  # fmt: skip
    fields: dict[str, object] = {
        "id": runbook_id, "name": name, "signature": "disk_full", "risk": Risk.LOW,
        "actions": ("df -h", "rm -rf /tmp/cache/*"), "company_id": company_id,
    }  # fmt: skip
    fields.update(kw)
    return Runbook(**fields)  # type: ignore[arg-type]


async def _add(store: UnitOfWorkFactory, *runbooks: Runbook) -> None:
    async with store() as uow:
        for r in runbooks:
            await uow.runbooks.add(r)
        await uow.commit()


async def test_runbook_round_trips_with_health_check(store: UnitOfWorkFactory) -> None:
    stored = runbook(
        "rb-1", "acme", risk=Risk.HIGH, description="clean up", timeout_seconds=60,
        health_check=HealthCheck(kind="http", url="http://srv/health", expected_status=204),
    )  # fmt: skip
    command = runbook("rb-2", health_check=HealthCheck(kind="command", command="true"))
    await _add(store, stored, command)
    async with store() as uow:
        assert await uow.runbooks.get("rb-1") == stored
        assert await uow.runbooks.get("rb-2") == command
        assert await uow.runbooks.get("nope") is None


async def test_for_company_gives_its_own_and_global_runbooks_by_name(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        runbook("r3", "acme", name="B"), runbook("r2", None, name="A"),
        runbook("r1", "acme", name="B"), runbook("r4", "globex", name="A"),
    )  # fmt: skip
    async with store() as uow:
        assert [r.id for r in await uow.runbooks.for_company("acme")] == ["r2", "r1", "r3"]


async def test_list_gives_global_and_visible_runbooks(store: UnitOfWorkFactory) -> None:
    await _add(store, runbook("g", None, name="G"), runbook("a", "acme", name="A"),
               runbook("x", "globex", name="X"))  # fmt: skip
    async with store() as uow:
        assert [r.id for r in await uow.runbooks.list(frozenset({"acme"}))] == ["a", "g"]
        assert [r.id for r in await uow.runbooks.list()] == ["a", "g", "x"]


async def test_update_and_delete_runbooks(store: UnitOfWorkFactory) -> None:
    await _add(store, runbook("r1"), runbook("r2"))
    async with store() as uow:
        await uow.runbooks.update(runbook("r1", name="Renamed", health_check=None))
        await uow.runbooks.delete("r2")
        await uow.commit()
    async with store() as uow:
        assert await uow.runbooks.get("r1") == runbook("r1", name="Renamed")
        assert await uow.runbooks.get("r2") is None
