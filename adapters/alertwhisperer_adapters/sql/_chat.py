"""Company chat in SQL: ``chat_messages`` and ``chat_reads``, and the core's ``ChatRepository``.

Kept apart from the other repositories because chat came later; the tables are declared on
the same :data:`~._schema.metadata`, so the migration test compares them like every other.
Every read is one company's history newest first, or a count of one user's unread messages
per company, so the index leads with the company and the creation time.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Table, Text, and_, func, insert, or_, select

from alertwhisperer_core._chat import ChatMessage
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core.ports import Page

from . import _schema as s
from ._dialects import Dialect
from ._fast import Prepared
from ._queries import after_cursor, row_limit
from ._types import Identifier, UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

__all__ = ["SqlChat", "chat_messages", "chat_reads"]

chat_messages = Table(
    "chat_messages",
    s.metadata,
    Column("id", Identifier, primary_key=True),
    Column("company_id", Identifier, nullable=False),
    Column("user_id", Identifier, nullable=False),
    Column("user_name", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "company_id", "created_at", "id"),
)

chat_reads = Table(
    "chat_reads",
    s.metadata,
    Column("company_id", Identifier, primary_key=True),
    Column("user_id", Identifier, primary_key=True),
    Column("read_at", UtcDateTime, nullable=False),
)

_M = chat_messages.c
_R = chat_reads.c
_COLUMNS = tuple(chat_messages.c)
_INSERT = Prepared(insert(chat_messages))
_upserts: dict[str, Prepared] = {}


def _upsert_read(dialect: Dialect) -> Prepared:
    # One prepared upsert per dialect, built on first use (as for compliance syncs).
    if dialect.name not in _upserts:
        _upserts[dialect.name] = Prepared(dialect._upsert(chat_reads, ["company_id", "user_id"]))
    return _upserts[dialect.name]


def _row(m: ChatMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "company_id": m.company_id,
        "user_id": m.user_id,
        "user_name": m.user_name,
        "body": m.body,
        "created_at": m.created_at,
    }


def _message(row: Sequence[Any]) -> ChatMessage:
    return ChatMessage(**dict(zip((c.name for c in _COLUMNS), row, strict=True)))


class SqlChat:
    """The ``ChatRepository`` of one unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def add(self, message: ChatMessage) -> None:
        await self.uow.run_many(_INSERT, [_row(message)])

    async def list(
        self, company_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[ChatMessage]:
        where: builtins.list[Any] = [_M.company_id == company_id]
        after = after_cursor(cursor, _M.created_at, _M.id)
        if after is not None:
            where.append(after)
        limit = row_limit(limit)
        stmt = (
            select(*_COLUMNS)
            .where(*where)
            .order_by(_M.created_at.desc(), _M.id.desc())
            .limit(limit + 1)
        )
        rows = [_message(r) for r in await self.uow.rows(stmt)]
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit and page:
            next_cursor = encode_cursor(page[-1].created_at.isoformat(), page[-1].id)
        return Page(tuple(page), next_cursor)

    async def mark_read(self, company_id: str, user_id: str, now: datetime) -> None:
        await self.uow.rows(
            _upsert_read(self.uow.dialect),
            {"company_id": company_id, "user_id": user_id, "read_at": now},
        )

    async def unread_counts(self, user_id: str, company_ids: Sequence[str]) -> Mapping[str, int]:
        counts = dict.fromkeys(company_ids, 0)
        if not counts:
            return counts
        stmt = (
            select(_M.company_id, func.count())
            .select_from(
                chat_messages.outerjoin(
                    chat_reads, and_(_R.company_id == _M.company_id, _R.user_id == user_id)
                )
            )
            .where(
                _M.company_id.in_(sorted(counts)),
                _M.user_id != user_id,
                or_(_R.read_at.is_(None), _M.created_at > _R.read_at),
            )
            .group_by(_M.company_id)
        )
        for company_id, count in await self.uow.rows(stmt):
            counts[company_id] = int(count)
        return counts
