"""Notifications in MongoDB: the core's ``NotificationRepository``.

Kept apart from the other repositories because notifications came later. Same order, cursors
and read semantics as the in-memory and SQL stores: one user's newest first (``created_at``,
then ``_id``, both descending).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from alertwhisperer_core._notifications import Notification, NotificationType
from alertwhisperer_core.ports import Page

from ._codec import Doc, from_micros, micros
from ._queries import after_cursor, all_of, next_cursor

if TYPE_CHECKING:
    from ._uow import MongoUnitOfWork

__all__ = ["NOTIFICATIONS", "NOTIFICATION_INDEXES", "MongoNotifications"]

NOTIFICATIONS = "notifications"
NOTIFICATION_INDEXES = [
    IndexModel(
        [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="user_created",
    )
]


def _doc(n: Notification) -> Doc:
    return {
        "_id": n.id,
        "user_id": n.user_id,
        "company_id": n.company_id,
        "type": n.type.value,
        "title": n.title,
        "body": n.body,
        "link_type": n.link_type,
        "link_id": n.link_id,
        "created_at": micros(n.created_at),
        "read_at": None if n.read_at is None else micros(n.read_at),
    }


def _from_doc(doc: Doc) -> Notification:
    return Notification(
        id=doc["_id"],
        user_id=doc["user_id"],
        company_id=doc["company_id"],
        type=NotificationType(doc["type"]),
        title=doc["title"],
        body=doc["body"],
        link_type=doc["link_type"],
        link_id=doc["link_id"],
        created_at=from_micros(doc["created_at"]),
        read_at=None if doc["read_at"] is None else from_micros(doc["read_at"]),
    )


class MongoNotifications:
    """The ``NotificationRepository`` of one unit of work."""

    def __init__(self, uow: MongoUnitOfWork) -> None:
        self.uow = uow

    def _coll(self) -> Any:
        return self.uow.collection(NOTIFICATIONS)

    async def add_many(self, notifications: Sequence[Notification]) -> None:
        if notifications:
            await self.uow.write(self._coll().insert_many, [_doc(n) for n in notifications])

    async def list_for_user(
        self, user_id: str, unread_only: bool = False, cursor: str | None = None, limit: int = 50
    ) -> Page[Notification]:
        where = all_of(
            {"user_id": user_id},
            {"read_at": None} if unread_only else {},
            after_cursor(cursor, "created_at") or {},
        )
        limit = max(limit, 0)
        docs = await self.uow.find(
            NOTIFICATIONS, where, sort=[("created_at", -1), ("_id", -1)], limit=limit + 1
        )
        page = tuple(_from_doc(d) for d in docs[:limit])
        return Page(page, next_cursor(docs, limit, "created_at"))

    async def mark_read(self, user_id: str, notification_id: str, now: datetime) -> bool:
        mine = {"_id": notification_id, "user_id": user_id}
        result = await self.uow.write(
            self._coll().update_one, {**mine, "read_at": None}, {"$set": {"read_at": micros(now)}}
        )
        if result.matched_count:
            return True
        return await self.uow.find_one(NOTIFICATIONS, mine) is not None

    async def mark_all_read(self, user_id: str, now: datetime) -> int:
        result = await self.uow.write(
            self._coll().update_many,
            {"user_id": user_id, "read_at": None},
            {"$set": {"read_at": micros(now)}},
        )
        return int(result.modified_count)

    async def unread_count(self, user_id: str) -> int:
        docs = await self.uow.find(
            NOTIFICATIONS, {"user_id": user_id, "read_at": None}, projection={"_id": 1}
        )
        return len(docs)
