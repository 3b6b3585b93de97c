"""The runbook library (SPEC §7): list, show, create, change, delete, import.

Runbooks are global (``company_id`` null) or scoped to one company. Everyone sees the global
ones; a company's runbooks are seen by its users and the MSP admins (404 for anyone else).
Writing a runbook is an approval in itself (a low-risk one runs unattended on clients'
servers), so only MSP admins manage them (RBAC's ``manage_runbooks``). Every write is
validated by :func:`validate_runbook` and audited (``runbook_created``, ``runbook_updated``,
``runbook_deleted``). A runbook's scope cannot change: delete it and create it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from .._models import HealthCheck, Risk, Runbook, User
from .._rbac import Action, visible_company_ids
from .._runbooks import validate_runbook
from ..errors import ValidationError
from ..ports import UnitOfWork
from ._access import audit, not_found, require
from ._services import Services

__all__ = [
    "MAX_IMPORT",
    "HealthCheckSpec",
    "NewRunbook",
    "RunbookChanges",
    "create_runbook",
    "delete_runbook",
    "get_runbook",
    "import_runbooks",
    "list_runbooks",
    "update_runbook",
]

MAX_IMPORT = 200
"""Runbooks one import may create."""

_Name = Annotated[str, Meta(min_length=1, max_length=200)]
_Pattern = Annotated[str, Meta(min_length=1, max_length=500)]
_Text = Annotated[str, Meta(max_length=4000)]
_Command = Annotated[str, Meta(max_length=10_000)]
_Actions = Annotated[tuple[_Command, ...], Meta(max_length=100)]
_Url = Annotated[str, Meta(max_length=2000)]
_Ident = Annotated[str, Meta(min_length=1, max_length=200)]


class HealthCheckSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``kind`` ``http`` (``url`` answering ``expected_status``) or ``command`` (exit 0)."""

    kind: Annotated[str, Meta(max_length=20)]
    url: _Url | None = None
    expected_status: int = 200
    command: _Command | None = None

    def to_domain(self) -> HealthCheck:
        return HealthCheck(
            kind=self.kind, url=self.url, expected_status=self.expected_status, command=self.command
        )


class NewRunbook(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: _Name
    signature: _Pattern
    risk: Risk
    actions: _Actions
    description: _Text = ""
    health_check: HealthCheckSpec | None = None
    timeout_seconds: int = 300
    company_id: _Ident | None = None


class RunbookChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: _Name | UnsetType = UNSET
    signature: _Pattern | UnsetType = UNSET
    risk: Risk | UnsetType = UNSET
    actions: _Actions | UnsetType = UNSET
    description: _Text | UnsetType = UNSET
    health_check: HealthCheckSpec | UnsetType | None = UNSET
    timeout_seconds: int | UnsetType = UNSET


def _visible(actor: User, runbook: Runbook) -> None:
    # Global runbooks are everyone's; a company's are its users' (404 for anyone else).
    require(actor, Action.VIEW_RUNBOOKS, runbook.company_id, kind="Runbook")


async def _load(uow: UnitOfWork, actor: User, runbook_id: str) -> Runbook:
    runbook = await uow.runbooks.get(runbook_id)
    if runbook is None:
        raise not_found("Runbook")
    _visible(actor, runbook)
    return runbook


async def list_runbooks(
    services: Services, actor: User, company_id: str | None = None
) -> list[Runbook]:
    """The global runbooks plus those of the actor's companies (or just ``company_id``'s)."""
    if company_id is not None:
        require(actor, Action.VIEW_RUNBOOKS, company_id, kind="Company")
        companies: frozenset[str] | None = frozenset({company_id})
    else:
        companies = visible_company_ids(actor)
    async with services.uow() as uow:
        return await uow.runbooks.list(companies)


async def get_runbook(services: Services, actor: User, runbook_id: str) -> Runbook:
    """One runbook the actor may see."""
    async with services.uow() as uow:
        return await _load(uow, actor, runbook_id)


def _build(runbook_id: str, new: NewRunbook) -> Runbook:
    runbook = Runbook(
        id=runbook_id,
        name=new.name.strip(),
        signature=new.signature,
        risk=new.risk,
        actions=new.actions,
        description=new.description,
        health_check=new.health_check.to_domain() if new.health_check else None,
        timeout_seconds=new.timeout_seconds,
        company_id=new.company_id,
    )
    validate_runbook(runbook)
    return runbook


async def _add(
    services: Services, uow: UnitOfWork, actor: User, new: NewRunbook, field: str = ""
) -> Runbook:
    require(actor, Action.MANAGE_RUNBOOKS, new.company_id, kind="Company")
    if new.company_id is not None and await uow.companies.get(new.company_id) is None:
        raise not_found("Company")
    try:
        runbook = _build(services.ids.new_id(), new)
    except ValidationError as error:
        if not field:
            raise
        raise ValidationError(
            f"{field}.{error.detail}",
            errors=[{**e, "field": f"{field}.{e['field']}"} for e in error.errors],
        ) from None
    await uow.runbooks.add(runbook)
    await audit(
        services,
        uow,
        actor,
        "runbook_created",
        services.clock.now(),
        runbook.company_id,
        {"runbook_id": runbook.id, "runbook": runbook.name, "risk": runbook.risk.value},
    )
    return runbook


async def create_runbook(services: Services, actor: User, new: NewRunbook) -> Runbook:
    """Add a runbook (MSP admins); 422 naming the first invalid field."""
    async with services.uow() as uow:
        runbook = await _add(services, uow, actor, new)
        await uow.commit()
    return runbook


async def import_runbooks(
    services: Services, actor: User, runbooks: Sequence[NewRunbook]
) -> list[Runbook]:
    """Add several runbooks at once: all of them, or none when one is invalid (its index is
    in the error's field, e.g. ``runbooks[2].signature``)."""
    if not runbooks:
        raise ValidationError.for_field("runbooks", "must hold at least one runbook")
    if len(runbooks) > MAX_IMPORT:
        raise ValidationError.for_field("runbooks", f"must hold at most {MAX_IMPORT} runbooks")
    async with services.uow() as uow:
        created = [
            await _add(services, uow, actor, new, f"runbooks[{i}]")
            for i, new in enumerate(runbooks)
        ]
        await uow.commit()
    return created


async def update_runbook(
    services: Services, actor: User, runbook_id: str, changes: RunbookChanges
) -> Runbook:
    """Change some fields of a runbook (MSP admins)."""
    async with services.uow() as uow:
        runbook = await _load(uow, actor, runbook_id)
        require(actor, Action.MANAGE_RUNBOOKS, runbook.company_id, kind="Runbook")
        values = {
            name: getattr(changes, name)
            for name in changes.__struct_fields__
            if getattr(changes, name) is not UNSET
        }
        if "health_check" in values and values["health_check"] is not None:
            values["health_check"] = values["health_check"].to_domain()
        if "name" in values:
            values["name"] = values["name"].strip()
        updated = attrs.evolve(runbook, **values)
        validate_runbook(updated)
        if updated == runbook:
            return runbook
        await uow.runbooks.update(updated)
        await audit(
            services,
            uow,
            actor,
            "runbook_updated",
            services.clock.now(),
            runbook.company_id,
            {"runbook_id": runbook.id, "runbook": updated.name, "fields": sorted(values)},
        )
        await uow.commit()
    return updated


async def delete_runbook(services: Services, actor: User, runbook_id: str) -> None:
    """Remove a runbook (MSP admins). Executions and requests that name it keep its id."""
    async with services.uow() as uow:
        runbook = await _load(uow, actor, runbook_id)
        require(actor, Action.MANAGE_RUNBOOKS, runbook.company_id, kind="Runbook")
        await uow.runbooks.delete(runbook_id)
        await audit(
            services,
            uow,
            actor,
            "runbook_deleted",
            services.clock.now(),
            runbook.company_id,
            {"runbook_id": runbook.id, "runbook": runbook.name},
        )
        await uow.commit()
