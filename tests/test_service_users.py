"""User management use cases: who may see, create, change and delete whom (SPEC §8)."""

from __future__ import annotations

import pytest

from alertwhisperer_core import Conflict, NotFound, PermissionDenied, Role, User, ValidationError
from alertwhisperer_core.service import (
    AuthPolicy,
    InlinePasswordHasher,
    NewUser,
    UserChanges,
    add_msp_admin,
    create_user,
    delete_user,
    ensure_first_admin,
    get_user,
    list_users,
    login,
    update_user,
)

from .support.world import World, make_world

PASSWORD = "a long enough password"


async def _world() -> tuple[World, dict[str, User]]:
    world = make_world()
    await world.add_company("acme")
    await world.add_company("globex")
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "acme_admin": await world.add_user("acme_admin", Role.COMPANY_ADMIN, "acme"),
        "acme_tech": await world.add_user("acme_tech", Role.TECHNICIAN, "acme"),
        "acme_tech2": await world.add_user("acme_tech2", Role.TECHNICIAN, "acme"),
        "globex_tech": await world.add_user("globex_tech", Role.TECHNICIAN, "globex"),
        "both_tech": await world.add_user("both_tech", Role.TECHNICIAN, "acme", "globex"),
    }
    return world, users


def _hasher(world: World) -> InlinePasswordHasher:
    return InlinePasswordHasher(world.ids)


def _new(
    email: str = "new@example.test",
    role: Role = Role.TECHNICIAN,
    companies: tuple[str, ...] = ("acme",),
    password: str = PASSWORD,
) -> NewUser:
    return NewUser(
        email=email, name="New Person", password=password, role=role, company_ids=companies
    )


async def test_msp_admin_creates_a_user_with_a_hashed_password_and_an_audit_entry() -> None:
    world, users = await _world()
    user = await create_user(world.services, _hasher(world), users["msp"], _new())
    assert user.password_hash.startswith("scrypt$")
    assert PASSWORD not in user.password_hash
    entry = world.store.audit[-1]
    assert (entry.action, entry.user_id, entry.company_id) == ("user_created", "msp", "acme")
    assert entry.details["email"] == "new@example.test"


async def test_created_user_can_log_in_with_the_password() -> None:
    world, users = await _world()
    await create_user(world.services, _hasher(world), users["msp"], _new())
    result = await login(world.services, _hasher(world), AuthPolicy(), "new@example.test", PASSWORD)
    assert result.user.email == "new@example.test"


async def test_duplicate_email_is_a_conflict_whatever_its_case() -> None:
    world, users = await _world()
    await create_user(world.services, _hasher(world), users["msp"], _new())
    with pytest.raises(Conflict):
        await create_user(world.services, _hasher(world), users["msp"], _new("NEW@example.test"))


async def test_short_password_is_refused_naming_the_field() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await create_user(world.services, _hasher(world), users["msp"], _new(password="short"))
    assert error.value.errors[0]["field"] == "password"


async def test_malformed_email_is_refused_naming_the_field() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await create_user(world.services, _hasher(world), users["msp"], _new("not-an-email"))
    assert error.value.errors[0]["field"] == "email"


async def test_technician_needs_a_company() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await create_user(world.services, _hasher(world), users["msp"], _new(companies=()))
    assert error.value.errors[0]["field"] == "company_ids"


async def test_unknown_company_is_refused_naming_company_ids() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await create_user(world.services, _hasher(world), users["msp"], _new(companies=("nope",)))
    assert error.value.errors[0]["field"] == "company_ids"


async def test_company_admin_creates_technicians_of_their_company() -> None:
    world, users = await _world()
    user = await create_user(world.services, _hasher(world), users["acme_admin"], _new())
    assert user.company_ids == {"acme"}


async def test_company_admin_cannot_create_a_technician_of_another_company() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError):
        await create_user(
            world.services, _hasher(world), users["acme_admin"], _new(companies=("globex",))
        )


async def test_company_admin_cannot_create_admins() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await create_user(
            world.services, _hasher(world), users["acme_admin"], _new(role=Role.COMPANY_ADMIN)
        )


async def test_technician_cannot_create_users() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await create_user(world.services, _hasher(world), users["acme_tech"], _new())


async def test_company_admin_lists_only_users_sharing_a_company() -> None:
    world, users = await _world()
    listed = {u.id for u in await list_users(world.services, users["acme_admin"])}
    assert listed == {"acme_admin", "acme_tech", "acme_tech2", "both_tech"}


async def test_msp_admin_lists_everyone_or_one_company() -> None:
    world, users = await _world()
    assert len(await list_users(world.services, users["msp"])) == 6
    listed = {u.id for u in await list_users(world.services, users["msp"], "globex")}
    assert listed == {"globex_tech", "both_tech"}


async def test_listing_a_foreign_company_is_not_found() -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await list_users(world.services, users["acme_admin"], "globex")


async def test_technician_may_not_list_users() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await list_users(world.services, users["acme_tech"])


async def test_everyone_sees_themselves() -> None:
    world, users = await _world()
    assert (await get_user(world.services, users["acme_tech"], "acme_tech")).id == "acme_tech"


async def test_technician_looking_at_a_colleague_is_forbidden_not_hidden() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await get_user(world.services, users["acme_tech"], "acme_tech2")


async def test_users_of_other_tenants_do_not_exist_for_a_company_admin() -> None:
    world, users = await _world()
    with pytest.raises(NotFound):
        await get_user(world.services, users["acme_admin"], "globex_tech")
    with pytest.raises(NotFound):
        await get_user(world.services, users["acme_admin"], "msp")


async def test_people_change_their_own_name_and_password() -> None:
    world, users = await _world()
    changed = await update_user(
        world.services,
        _hasher(world),
        users["acme_tech"],
        "acme_tech",
        UserChanges(name="Renamed", password=PASSWORD),
    )
    assert changed.name == "Renamed"
    assert changed.password_hash.startswith("scrypt$")


async def test_nobody_changes_their_own_role() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await update_user(
            world.services,
            _hasher(world),
            users["msp"],
            "msp",
            UserChanges(role=Role.TECHNICIAN, company_ids=("acme",)),
        )


async def test_company_admin_cannot_promote_a_technician() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await update_user(
            world.services,
            _hasher(world),
            users["acme_admin"],
            "acme_tech",
            UserChanges(role=Role.COMPANY_ADMIN),
        )


async def test_company_admin_cannot_manage_a_technician_who_also_works_elsewhere() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await update_user(
            world.services,
            _hasher(world),
            users["acme_admin"],
            "both_tech",
            UserChanges(active=False),
        )


async def test_deactivating_a_user_ends_their_sessions_and_is_audited() -> None:
    world, users = await _world()
    await update_user(
        world.services, _hasher(world), users["msp"], "acme_tech", UserChanges(password=PASSWORD)
    )
    await login(world.services, _hasher(world), AuthPolicy(), "acme_tech@example.test", PASSWORD)
    assert len(world.store.tokens) == 1
    await update_user(
        world.services, _hasher(world), users["acme_admin"], "acme_tech", UserChanges(active=False)
    )
    assert world.store.tokens == {}
    assert world.store.audit[-1].action == "user_deactivated"


async def test_changing_email_to_a_taken_one_is_a_conflict() -> None:
    world, users = await _world()
    with pytest.raises(Conflict):
        await update_user(
            world.services,
            _hasher(world),
            users["msp"],
            "acme_tech",
            UserChanges(email="acme_tech2@example.test"),
        )


async def test_role_change_to_msp_admin_drops_companies() -> None:
    world, users = await _world()
    changed = await update_user(
        world.services, _hasher(world), users["msp"], "acme_tech", UserChanges(role=Role.MSP_ADMIN)
    )
    assert changed.company_ids == frozenset()


async def test_delete_removes_the_user_and_their_tokens_and_is_audited() -> None:
    world, users = await _world()
    await delete_user(world.services, users["acme_admin"], "acme_tech")
    assert "acme_tech" not in world.store.users
    entry = world.store.audit[-1]
    assert (entry.action, entry.details["user_id"]) == ("user_deleted", "acme_tech")


async def test_nobody_deletes_their_own_account() -> None:
    world, users = await _world()
    with pytest.raises(Conflict):
        await delete_user(world.services, users["msp"], "msp")


async def test_company_admin_cannot_delete_another_admin() -> None:
    world, users = await _world()
    other = await world.add_user("acme_admin2", Role.COMPANY_ADMIN, "acme")
    with pytest.raises(PermissionDenied):
        await delete_user(world.services, users["acme_admin"], other.id)


async def test_first_admin_is_created_only_when_there_are_no_users() -> None:
    world = make_world()
    first = await ensure_first_admin(world.services, _hasher(world), "root@example.test", PASSWORD)
    assert first is not None
    assert first.role is Role.MSP_ADMIN
    again = await ensure_first_admin(world.services, _hasher(world), "other@example.test", PASSWORD)
    assert again is None
    assert len(world.store.users) == 1


async def test_explicit_admin_creation_refuses_a_taken_address() -> None:
    world = make_world()
    await add_msp_admin(world.services, _hasher(world), "root@example.test", PASSWORD)
    with pytest.raises(Conflict):
        await add_msp_admin(world.services, _hasher(world), "ROOT@example.test", PASSWORD)
