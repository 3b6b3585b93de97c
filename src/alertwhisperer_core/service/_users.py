"""User management (SPEC §8, §11): list, show, create, change, delete, and the first admin.

Who may see a user: MSP admins see everyone; a user with ``view_users`` in a company sees the
users who share a company with them; everyone sees themselves. Anyone else's account is a 404.
Who may change one is :func:`~alertwhisperer_core._rbac.may_manage_user`, asked for the account
as it is and as it will be. People may change their own name, e-mail and password, but not
their own role, companies or active flag (no one locks themselves out or promotes themselves),
and no one deletes their own account.
"""

from __future__ import annotations

import re

import attrs

from .._models import Role, User
from .._rbac import Access, Action, authorize, may_manage_user, visible_company_ids
from ..errors import Conflict, PermissionDenied, ValidationError
from ..ports import UnitOfWork
from ._access import audit, narrow_companies, not_found
from ._auth import PasswordHasher, normalize_email
from ._commands import UNSET, NewUser, UserChanges
from ._services import Services

__all__ = [
    "add_msp_admin",
    "create_user",
    "delete_user",
    "ensure_first_admin",
    "get_user",
    "list_users",
    "update_user",
]

# Deliberately loose: one "@" with something on each side. Delivery proves the rest.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _email(value: str) -> str:
    email = normalize_email(value)
    if not _EMAIL.fullmatch(email):
        raise ValidationError.for_field("email", "must be an e-mail address like name@example.com")
    return email


def _can_see(actor: User, target: User) -> bool:
    if actor.id == target.id:
        return True
    visible = visible_company_ids(actor)
    if visible is None:
        return True
    return any(
        authorize(actor, Action.VIEW_USERS, c) is Access.ALLOW for c in target.company_ids & visible
    )


def _shares_company(actor: User, target: User) -> bool:
    visible = visible_company_ids(actor)
    return visible is None or bool(target.company_ids & visible)


async def _load_visible(uow: UnitOfWork, actor: User, user_id: str) -> User:
    target = await uow.users.get(user_id)
    if target is None or not (_can_see(actor, target) or _shares_company(actor, target)):
        raise not_found("User")
    if not _can_see(actor, target):
        raise PermissionDenied("Your role may not view users")
    return target


async def _check_companies(uow: UnitOfWork, actor: User, ids: frozenset[str]) -> None:
    # A company the actor cannot see is "unknown", exactly like one that does not exist.
    visible = visible_company_ids(actor)
    for company_id in sorted(ids):
        if visible is not None and company_id not in visible:
            raise ValidationError.for_field("company_ids", f"unknown company {company_id!r}")
        if await uow.companies.get(company_id) is None:
            raise ValidationError.for_field("company_ids", f"unknown company {company_id!r}")


def _require_company(role: Role, companies: frozenset[str]) -> None:
    if role is not Role.MSP_ADMIN and not companies:
        raise ValidationError.for_field("company_ids", f"a {role.value} needs at least one company")


async def list_users(services: Services, actor: User, company_id: str | None = None) -> list[User]:
    """The users ``actor`` may see, optionally only those of ``company_id``."""
    companies = narrow_companies(actor, Action.VIEW_USERS, company_id)
    async with services.uow() as uow:
        users = await uow.users.list(companies)
    if companies is None:
        return users
    return [u for u in users if u.company_ids & companies]


async def get_user(services: Services, actor: User, user_id: str) -> User:
    """One user, if ``actor`` may see them."""
    async with services.uow() as uow:
        return await _load_visible(uow, actor, user_id)


async def create_user(
    services: Services, hasher: PasswordHasher, actor: User, command: NewUser
) -> User:
    """Create a user; audited as ``user_created``. Duplicate e-mail is a 409."""
    now = services.clock.now()
    email = _email(command.email)
    companies = (
        frozenset(command.company_ids) if command.role is not Role.MSP_ADMIN else frozenset()
    )
    _require_company(command.role, companies)
    async with services.uow() as uow:
        await _check_companies(uow, actor, companies)
    if not may_manage_user(actor, command.role, companies):
        raise PermissionDenied(f"You may not create a {command.role.value}")
    password_hash = await hasher.hash(command.password)
    user = User(
        id=services.ids.new_id(),
        email=email,
        name=command.name.strip() or email,
        role=command.role,
        company_ids=companies,
        password_hash=password_hash,
    )
    async with services.uow() as uow:
        if await uow.users.by_email(email) is not None:
            raise Conflict("A user with this e-mail already exists")
        await uow.users.add(user)
        await audit(
            services,
            uow,
            actor,
            "user_created",
            now,
            _audit_company(companies),
            {
                "user_id": user.id,
                "email": email,
                "role": user.role.value,
                "company_ids": sorted(companies),
            },
        )
        await uow.commit()
    return user


def _audit_company(companies: frozenset[str]) -> str | None:
    # One entry per change; it is filed under the user's first company so that company's
    # admins see it (the details list all of them).
    return min(companies) if companies else None


async def update_user(
    services: Services, hasher: PasswordHasher, actor: User, user_id: str, changes: UserChanges
) -> User:
    """Change a user; audited as ``user_updated`` (``user_deactivated`` when disabled)."""
    now = services.clock.now()
    async with services.uow() as uow:
        target = await _load_visible(uow, actor, user_id)
    role = target.role if changes.role is UNSET else changes.role
    if changes.company_ids is UNSET:
        companies = target.company_ids
    else:
        companies = frozenset(changes.company_ids)
    if role is Role.MSP_ADMIN:
        companies = frozenset()
    active = target.active if changes.active is UNSET else changes.active
    privileged = (role, companies, active) != (target.role, target.company_ids, target.active)
    if privileged and actor.id == target.id:
        raise PermissionDenied("You may not change your own role, companies or active state")
    if actor.id != target.id and not (
        may_manage_user(actor, target.role, target.company_ids)
        and may_manage_user(actor, role, companies)
    ):
        raise PermissionDenied("You may not manage this user")
    email = target.email if changes.email is UNSET else _email(changes.email)
    name = target.name if changes.name is UNSET else changes.name.strip() or target.name
    _require_company(role, companies)
    if companies - target.company_ids:
        async with services.uow() as uow:
            await _check_companies(uow, actor, companies - target.company_ids)
    password_hash = target.password_hash
    if changes.password is not UNSET:
        password_hash = await hasher.hash(changes.password)
    updated = attrs.evolve(
        target,
        email=email,
        name=name,
        role=role,
        company_ids=companies,
        active=active,
        password_hash=password_hash,
    )
    async with services.uow() as uow:
        if email != target.email:
            other = await uow.users.by_email(email)
            if other is not None and other.id != target.id:
                raise Conflict("A user with this e-mail already exists")
        await uow.users.update(updated)
        # Someone else resetting a password, or disabling the account, ends its sessions.
        if not active or (password_hash != target.password_hash and actor.id != target.id):
            await uow.tokens.delete_for_user(target.id)
        changed = sorted(
            f
            for f, before, after in (
                ("email", target.email, email),
                ("name", target.name, name),
                ("role", target.role, role),
                ("company_ids", target.company_ids, companies),
                ("active", target.active, active),
                ("password", target.password_hash, password_hash),
            )
            if before != after
        )
        action = "user_deactivated" if target.active and not active else "user_updated"
        await audit(
            services,
            uow,
            actor,
            action,
            now,
            _audit_company(companies | target.company_ids),
            {"user_id": target.id, "email": email, "changed": changed},
        )
        await uow.commit()
    return updated


async def delete_user(services: Services, actor: User, user_id: str) -> None:
    """Delete a user and revoke their tokens; audited as ``user_deleted``."""
    now = services.clock.now()
    async with services.uow() as uow:
        target = await _load_visible(uow, actor, user_id)
        if target.id == actor.id:
            raise Conflict("You may not delete your own account")
        if not may_manage_user(actor, target.role, target.company_ids):
            raise PermissionDenied("You may not manage this user")
        await uow.users.delete(target.id)
        await uow.tokens.delete_for_user(target.id)
        await audit(
            services,
            uow,
            actor,
            "user_deleted",
            now,
            _audit_company(target.company_ids),
            {"user_id": target.id, "email": target.email, "role": target.role.value},
        )
        await uow.commit()


async def add_msp_admin(
    services: Services,
    hasher: PasswordHasher,
    email: str,
    password: str,
    name: str = "Administrator",
    *,
    only_if_no_users: bool = False,
) -> User | None:
    """Create an MSP admin (the operator's ``create-admin``; no actor, audited as the system).

    With ``only_if_no_users`` nothing happens when any user exists, and None is returned: this
    is how a fresh installation gets its first login (SPEC §8: no default password). A taken
    e-mail address is a :class:`Conflict`.
    """
    address = _email(email)
    async with services.uow() as uow:
        if only_if_no_users and await uow.users.list():
            return None
    user = User(
        id=services.ids.new_id(),
        email=address,
        name=name.strip() or "Administrator",
        role=Role.MSP_ADMIN,
        password_hash=await hasher.hash(password),
    )
    async with services.uow() as uow:
        if only_if_no_users and await uow.users.list():
            return None
        if await uow.users.by_email(address) is not None:
            raise Conflict("A user with this e-mail already exists")
        await uow.users.add(user)
        details = {"user_id": user.id, "email": address, "role": user.role.value}
        if only_if_no_users:
            details["reason"] = "first start"
        await audit(services, uow, None, "user_created", services.clock.now(), None, details)
        await uow.commit()
    return user


async def ensure_first_admin(
    services: Services, hasher: PasswordHasher, email: str, password: str
) -> User | None:
    """Create the first MSP admin if the store has no user at all; None when users exist."""
    return await add_msp_admin(services, hasher, email, password, only_if_no_users=True)
