"""User repository contract: memberships, e-mail look-up, company filters."""

from __future__ import annotations

from alertwhisperer_core import Role, User
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import user


async def _add(store: UnitOfWorkFactory, *users: User) -> None:
    async with store() as uow:
        for u in users:
            await uow.users.add(u)
        await uow.commit()


async def test_user_round_trips_with_companies(store: UnitOfWorkFactory) -> None:
    stored = user("u-1", "acme", "globex", role=Role.COMPANY_ADMIN, active=False)
    await _add(store, stored)
    async with store() as uow:
        assert await uow.users.get("u-1") == stored


async def test_msp_admin_without_companies_round_trips(store: UnitOfWorkFactory) -> None:
    stored = user("root", role=Role.MSP_ADMIN)
    await _add(store, stored)
    async with store() as uow:
        assert await uow.users.get("root") == stored


async def test_unknown_user_is_none(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert await uow.users.get("nope") is None
        assert await uow.users.by_email("nobody@example.test") is None


async def test_user_is_found_by_email_ignoring_case_and_spaces(store: UnitOfWorkFactory) -> None:
    await _add(store, user("u-1", "acme", email="Ada.Lovelace@Example.TEST"))
    async with store() as uow:
        found = await uow.users.by_email("  ada.lovelace@example.test ")
    assert found is not None
    assert found.id == "u-1"


async def test_users_list_by_email_then_id(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        user("u-3", email="b@x.test"), user("u-2", email="a@x.test"), user("u-1", email="b@x.test"),
    )  # fmt: skip
    async with store() as uow:
        assert [u.id for u in await uow.users.list()] == ["u-2", "u-1", "u-3"]


async def test_users_list_those_sharing_a_visible_company(store: UnitOfWorkFactory) -> None:
    await _add(store, user("u-1", "acme"), user("u-2", "globex", "acme"), user("u-3", "initech"),
               user("root"))  # fmt: skip
    async with store() as uow:
        listed = await uow.users.list(frozenset({"acme"}))
        assert [u.id for u in listed] == ["u-1", "u-2"]
        assert listed[1].company_ids == frozenset({"globex", "acme"})
        assert await uow.users.list(frozenset()) == []


async def test_users_list_the_members_of_any_of_several_companies(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, user("u-1", "acme"), user("u-2", "globex", "acme"), user("u-3", "initech"),
               user("u-4", "globex", "umbrella"), user("root"))  # fmt: skip
    async with store() as uow:
        listed = await uow.users.list(frozenset({"acme", "globex"}))
    assert [u.id for u in listed] == ["u-1", "u-2", "u-4"]
    # Every membership of a listed user, the companies outside the filter too, once each.
    assert listed[1].company_ids == frozenset({"globex", "acme"})
    assert listed[2].company_ids == frozenset({"globex", "umbrella"})


async def test_update_replaces_the_user_and_memberships(store: UnitOfWorkFactory) -> None:
    await _add(store, user("u-1", "acme", "globex"))
    changed = user("u-1", "initech", name="Renamed", password_hash="scrypt$new")
    async with store() as uow:
        await uow.users.update(changed)
        await uow.commit()
    async with store() as uow:
        assert await uow.users.get("u-1") == changed
        assert await uow.users.list(frozenset({"acme"})) == []


async def test_delete_removes_the_user(store: UnitOfWorkFactory) -> None:
    await _add(store, user("u-1", "acme"), user("u-2", "acme"))
    async with store() as uow:
        await uow.users.delete("u-1")
        await uow.commit()
    async with store() as uow:
        assert await uow.users.get("u-1") is None
        assert [u.id for u in await uow.users.list(frozenset({"acme"}))] == ["u-2"]
