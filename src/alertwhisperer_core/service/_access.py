"""What every management use case does first and last: check access, write the audit entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._models import AuditEntry, Incident, User
from .._rbac import Access, Action, authorize, visible_company_ids
from .._settings import Company
from ..errors import NotFound, PermissionDenied
from ..ports import UnitOfWork
from ._services import Services

__all__ = [
    "audit",
    "load_company",
    "locked_incident",
    "narrow_companies",
    "not_found",
    "require",
]


def not_found(kind: str) -> NotFound:
    """The one answer for "absent" and "another tenant's": nothing about the object leaks."""
    return NotFound(f"{kind} not found")


def require(
    user: User, action: Action, company_id: str | None = None, *, kind: str = "Resource"
) -> None:
    """Raise unless :func:`authorize` allows ``action``: 404 outside the tenant, 403 inside it."""
    access = authorize(user, action, company_id)
    if access is Access.NOT_FOUND:
        raise not_found(kind)
    if access is Access.FORBIDDEN:
        raise PermissionDenied(f"Your role may not {action.value.replace('_', ' ')}")


def narrow_companies(user: User, action: Action, company_id: str | None) -> frozenset[str] | None:
    """The companies a list may show: the user's visible ones, or just ``company_id`` if given.

    A ``company_id`` outside the user's companies is a 404, like any other tenant's object.
    """
    if company_id is not None:
        require(user, action, company_id, kind="Company")
        return frozenset({company_id})
    if user.active and user.company_ids and not _has_anywhere(user, action):
        raise PermissionDenied(f"Your role may not {action.value.replace('_', ' ')}")
    return visible_company_ids(user)


def _has_anywhere(user: User, action: Action) -> bool:
    return any(authorize(user, action, c) is Access.ALLOW for c in user.company_ids)


async def audit(
    services: Services,
    uow: UnitOfWork,
    actor: User | None,
    action: str,
    now: datetime,
    company_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one audit entry in the caller's unit of work (so it commits with the change)."""
    await uow.audit.append(
        AuditEntry(
            id=services.ids.new_id(),
            timestamp=now,
            user_id=actor.id if actor else None,
            user_name=actor.name if actor else "system",
            action=action,
            details=dict(details or {}),
            company_id=company_id,
        )
    )


async def load_company(uow: UnitOfWork, actor: User, action: Action, company_id: str) -> Company:
    """The company, after checking ``action`` on it (404 for other tenants and absent ones)."""
    require(actor, action, company_id, kind="Company")
    company = await uow.companies.get(company_id)
    if company is None:
        raise not_found("Company")
    return company


async def locked_incident(uow: UnitOfWork, incident_id: str) -> Incident | None:
    """The incident as last committed, read under its key's lock (None when absent).

    Every read-modify-write of an incident takes the lock the ingest path takes
    (:meth:`IncidentRepository.lock_key`), so two updates (or an update and a delivery
    appending alerts) run one after the other and neither is lost: PostgreSQL's READ
    COMMITTED alone would let both read the same row and the later write drop the earlier.
    The key comes from a first read (an incident's key never changes); the second read, under
    the lock, sees whatever was committed before the lock was granted.
    """
    incident = await uow.incidents.get(incident_id)
    if incident is None:
        return None
    await uow.incidents.lock_key(incident.company_id, incident.key)
    return await uow.incidents.get(incident_id)
