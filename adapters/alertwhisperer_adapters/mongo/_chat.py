"""Company chat in MongoDB: the core's ``ChatRepository``.

Kept apart from the other repositories because chat came later. Same order, cursors and unread
rules as the in-memory and SQL stores: one company's messages newest first (``created_at``,
then ``_id``, both descending); a message is unread for a user when someone else wrote it
after the user's read mark in that company.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from alertwhisperer_core._chat import ChatMessage
from alertwhisperer_core.ports import Page

from ._codec import Doc, from_micros, micros
from ._queries import after_cursor, all_of, next_cursor

if TYPE_CHECKING:
    from ._uow import MongoUnitOfWork

__all__ = ["CHAT_INDEXES", "CHAT_MESSAGES", "CHAT_READS", "MongoChat"]

CHAT_MESSAGES = "chat_messages"
CHAT_READS = "chat_reads"
CHAT_INDEXES = {
    CHAT_MESSAGES: [
        IndexModel(
            [("company_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="company_created",
        )
    ],
    CHAT_READS: [IndexModel([("user_id", ASCENDING)], name="user")],
}


def _doc(m: ChatMessage) -> Doc:
    return {
        "_id": m.id,
        "company_id": m.company_id,
        "user_id": m.user_id,
        "user_name": m.user_name,
        "body": m.body,
        "created_at": micros(m.created_at),
    }


def _message(doc: Doc) -> ChatMessage:
    return ChatMessage(
        id=doc["_id"],
        company_id=doc["company_id"],
        user_id=doc["user_id"],
        user_name=doc["user_name"],
        body=doc["body"],
        created_at=from_micros(doc["created_at"]),
    )


def _read_id(company_id: str, user_id: str) -> Doc:
    # A document as the key: ids may hold any character, so no separator could be safe.
    return {"c": company_id, "u": user_id}


class MongoChat:
    """The ``ChatRepository`` of one unit of work."""

    def __init__(self, uow: MongoUnitOfWork) -> None:
        self.uow = uow

    async def add(self, message: ChatMessage) -> None:
        await self.uow.write(self.uow.collection(CHAT_MESSAGES).insert_one, _doc(message))

    async def list(
        self, company_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[ChatMessage]:
        where = all_of({"company_id": company_id}, after_cursor(cursor, "created_at") or {})
        limit = max(limit, 0)
        docs = await self.uow.find(
            CHAT_MESSAGES, where, sort=[("created_at", -1), ("_id", -1)], limit=limit + 1
        )
        page = tuple(_message(d) for d in docs[:limit])
        return Page(page, next_cursor(docs, limit, "created_at"))

    async def mark_read(self, company_id: str, user_id: str, now: datetime) -> None:
        await self.uow.write(
            self.uow.collection(CHAT_READS).replace_one,
            {"_id": _read_id(company_id, user_id)},
            {"company_id": company_id, "user_id": user_id, "read_at": micros(now)},
            upsert=True,
        )

    async def unread_counts(self, user_id: str, company_ids: Sequence[str]) -> Mapping[str, int]:
        counts = dict.fromkeys(company_ids, 0)
        if not counts:
            return counts
        ids = sorted(counts)
        marks = {
            doc["company_id"]: doc["read_at"]
            for doc in await self.uow.find(
                CHAT_READS, {"user_id": user_id, "company_id": {"$in": ids}}
            )
        }
        unmarked = [c for c in ids if c not in marks]
        either: builtins.list[Any] = [
            {"company_id": c, "created_at": {"$gt": at}} for c, at in sorted(marks.items())
        ]
        if unmarked:
            either.append({"company_id": {"$in": unmarked}})
        pipeline = [
            {"$match": {"user_id": {"$ne": user_id}, "$or": either}},
            {"$group": {"_id": "$company_id", "n": {"$sum": 1}}},
        ]
        for doc in await self.uow.aggregate(CHAT_MESSAGES, pipeline):
            counts[doc["_id"]] = int(doc["n"])
        return counts
