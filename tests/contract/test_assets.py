"""Asset repository contract: per company, by id or name."""

from __future__ import annotations

from alertwhisperer_core import Asset
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import asset


async def _add(store: UnitOfWorkFactory, *assets: Asset) -> None:
    async with store() as uow:
        for a in assets:
            await uow.assets.add(a)
        await uow.commit()


async def test_asset_round_trips(store: UnitOfWorkFactory) -> None:
    full = asset("as-1", type="vm", os="Ubuntu 24.04", environment="prod", is_critical=True,
                 instance_id="i-0abc", tags=("db", "eu-west-1"))  # fmt: skip
    await _add(store, full)
    async with store() as uow:
        assert await uow.assets.get("acme", "as-1") == full


async def test_asset_of_another_company_is_not_found(store: UnitOfWorkFactory) -> None:
    await _add(store, asset("as-1", "acme"))
    async with store() as uow:
        assert await uow.assets.get("globex", "as-1") is None
        assert await uow.assets.by_name("globex", "srv-app-01") is None


async def test_asset_is_found_by_name(store: UnitOfWorkFactory) -> None:
    await _add(store, asset("as-1", name="db-1"), asset("as-2", name="web-1"))
    async with store() as uow:
        found = await uow.assets.by_name("acme", "web-1")
    assert found is not None
    assert found.id == "as-2"


async def test_assets_of_a_company_list_by_name(store: UnitOfWorkFactory) -> None:
    await _add(store, asset("as-1", name="web"), asset("as-2", name="db"),
               asset("as-3", "globex", name="app"))  # fmt: skip
    async with store() as uow:
        assert [a.id for a in await uow.assets.list("acme")] == ["as-2", "as-1"]


async def test_update_replaces_an_asset(store: UnitOfWorkFactory) -> None:
    await _add(store, asset("as-1"))
    async with store() as uow:
        await uow.assets.update(asset("as-1", is_critical=True))
        await uow.commit()
    async with store() as uow:
        assert await uow.assets.get("acme", "as-1") == asset("as-1", is_critical=True)


async def test_delete_only_removes_the_companys_own_asset(store: UnitOfWorkFactory) -> None:
    await _add(store, asset("as-1", "acme"))
    async with store() as uow:
        await uow.assets.delete("globex", "as-1")
        await uow.commit()
    async with store() as uow:
        assert await uow.assets.get("acme", "as-1") is not None
        await uow.assets.delete("acme", "as-1")
        await uow.commit()
    async with store() as uow:
        assert await uow.assets.get("acme", "as-1") is None
