"""The audit log's read side: filtered pages, and every matching entry for export (SPEC §8).

Company admins see the entries of their companies; entries of no company (failed logins, MSP
level changes) are the MSP admins'. The log is append-only: nothing here changes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import attrs

from .._models import AuditEntry, User
from .._rbac import Action
from ..ports import AuditQuery, Page
from ._access import narrow_companies
from ._queries import DEFAULT_LIMIT, check_limit, check_range
from ._services import Services

__all__ = ["AuditFilter", "export_audit", "list_audit"]

_EXPORT_PAGE = 500


@attrs.frozen
class AuditFilter:
    """Filters of ``GET /api/audit`` and its export; ``until`` is exclusive."""

    company_id: str | None = None
    action: str | None = None
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def _query(user: User, action: Action, query: AuditFilter) -> AuditQuery:
    check_limit(query.limit)
    check_range(query.since, query.until)
    return AuditQuery(
        company_ids=narrow_companies(user, action, query.company_id),
        action=query.action or None,
        user_id=query.user_id or None,
        since=query.since,
        until=query.until,
        cursor=query.cursor,
        limit=query.limit,
    )


async def list_audit(services: Services, actor: User, query: AuditFilter) -> Page[AuditEntry]:
    """One page of the entries ``actor`` may see, newest first."""
    audit_query = _query(actor, Action.VIEW_AUDIT, query)
    async with services.uow() as uow:
        return await uow.audit.list(audit_query)


async def export_audit(
    services: Services, actor: User, query: AuditFilter
) -> AsyncIterator[AuditEntry]:
    """Every matching entry, newest first, fetched a page at a time.

    Access is checked before the first entry is produced. Each page is read in its own unit
    of work, so a slow reader of a long export never holds a transaction open.
    """
    audit_query = attrs.evolve(_query(actor, Action.EXPORT_AUDIT, query), limit=_EXPORT_PAGE)
    return _pages(services, audit_query)


async def _pages(services: Services, query: AuditQuery) -> AsyncIterator[AuditEntry]:
    cursor = query.cursor
    while True:
        async with services.uow() as uow:
            page = await uow.audit.list(attrs.evolve(query, cursor=cursor))
        for entry in page.items:
            yield entry
        cursor = page.next_cursor
        if cursor is None:
            return
