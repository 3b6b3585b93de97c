"""Notifications in SQL: the ``notifications`` table and the core's ``NotificationRepository``.

Kept apart from the other repositories because notifications came later (as executions did);
the table is declared on the same :data:`~._schema.metadata`, so the migration test compares
it like every other. Every read is one user's newest first, so the index leads with the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Table, Text, func, insert, select, update

from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core._notifications import Notification, NotificationType
from alertwhisperer_core.ports import Page

from . import _schema as s
from ._fast import Prepared
from ._queries import after_cursor, param, row_limit
from ._types import Identifier, UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

__all__ = ["NOTIFICATION_COLUMNS", "SqlNotifications", "notifications"]

notifications = Table(
    "notifications",
    s.metadata,
    Column("id", Identifier, primary_key=True),
    Column("user_id", Identifier, nullable=False),
    Column("company_id", Identifier, nullable=True),
    Column("type", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("link_type", Text, nullable=False),
    Column("link_id", Identifier, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    Index(None, "user_id", "created_at", "id"),
)

NOTIFICATION_COLUMNS = tuple(notifications.c)
_N = notifications.c
_INSERT = Prepared(insert(notifications))
_MARK_ONE = Prepared(
    update(notifications)
    .where(_N.id == param("id"), _N.user_id == param("user_id"), _N.read_at.is_(None))
    .values(read_at=param("now", UtcDateTime()))
)
_OWNED = Prepared(select(_N.id).where(_N.id == param("id"), _N.user_id == param("user_id")))
_MARK_ALL = Prepared(
    update(notifications)
    .where(_N.user_id == param("user_id"), _N.read_at.is_(None))
    .values(read_at=param("now", UtcDateTime()))
)
_UNREAD = Prepared(
    select(func.count())
    .select_from(notifications)
    .where(_N.user_id == param("user_id"), _N.read_at.is_(None))
)


def _row(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "user_id": n.user_id,
        "company_id": n.company_id,
        "type": n.type.value,
        "title": n.title,
        "body": n.body,
        "link_type": n.link_type,
        "link_id": n.link_id,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


def _from_row(row: Sequence[Any]) -> Notification:
    values = dict(zip((c.name for c in NOTIFICATION_COLUMNS), row, strict=True))
    values["type"] = NotificationType(values["type"])
    return Notification(**values)


class SqlNotifications:
    """The ``NotificationRepository`` of one unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def add_many(self, items: Sequence[Notification]) -> None:
        await self.uow.run_many(_INSERT, [_row(n) for n in items])

    async def list_for_user(
        self, user_id: str, unread_only: bool = False, cursor: str | None = None, limit: int = 50
    ) -> Page[Notification]:
        where: list[Any] = [_N.user_id == user_id]
        if unread_only:
            where.append(_N.read_at.is_(None))
        after = after_cursor(cursor, _N.created_at, _N.id)
        if after is not None:
            where.append(after)
        limit = row_limit(limit)
        stmt = (
            select(*NOTIFICATION_COLUMNS)
            .where(*where)
            .order_by(_N.created_at.desc(), _N.id.desc())
            .limit(limit + 1)
        )
        rows = [_from_row(r) for r in await self.uow.rows(stmt)]
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit and page:
            next_cursor = encode_cursor(page[-1].created_at.isoformat(), page[-1].id)
        return Page(tuple(page), next_cursor)

    async def mark_read(self, user_id: str, notification_id: str, now: datetime) -> bool:
        params = {"id": notification_id, "user_id": user_id}
        if (await self.uow.execute(_MARK_ONE, {**params, "now": now})).rowcount:
            return True
        return bool(await self.uow.rows(_OWNED, params))

    async def mark_all_read(self, user_id: str, now: datetime) -> int:
        result = await self.uow.execute(_MARK_ALL, {"user_id": user_id, "now": now})
        return int(result.rowcount)

    async def unread_count(self, user_id: str) -> int:
        rows = await self.uow.rows(_UNREAD, {"user_id": user_id})
        return int(rows[0][0])
