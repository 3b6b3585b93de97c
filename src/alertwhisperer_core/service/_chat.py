"""Company chat (SPEC §10): post, page the history, read marks and unread counts, presence.

Tenant rules are the usual ones: a user chats in their own companies (MSP admins in every
company); another company's chat answers exactly as a missing company does (404). Chat writes
no audit entries: messages are themselves the record.

Who is online comes from the server's live connections (an adapter's ``Presence``); this
module only turns user ids into names and builds the ``presence`` event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Annotated

import attrs
import msgspec
from msgspec import Meta

from .._chat import ChatMessage, chat_body
from .._models import Role, User
from .._rbac import Action, visible_company_ids
from ..ports import Event, Page
from ._access import load_company
from ._queries import DEFAULT_LIMIT, check_limit
from ._services import Services

__all__ = [
    "ChatPage",
    "NewChatMessage",
    "OnlineUser",
    "chat_message_event",
    "chat_unread_counts",
    "list_chat_messages",
    "mark_chat_read",
    "online_users",
    "post_chat_message",
    "presence_companies",
    "presence_event",
]


class NewChatMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/chat/{company_id}/messages``; the 1 to 2000 character rule applies after
    stripping, so the wire bound only stops absurd bodies early."""

    body: Annotated[str, Meta(max_length=20_000)]


@attrs.frozen
class ChatPage:
    """One page of a company's messages and how many of all of them the actor has unread."""

    page: Page[ChatMessage]
    unread: int


@attrs.frozen
class OnlineUser:
    user_id: str
    name: str


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def chat_message_event(message: ChatMessage) -> Event:
    """The ``chat.message`` event: the message itself, for the users of its company."""
    m = message
    return Event(
        "chat.message",
        m.company_id,
        {
            "id": m.id,
            "company_id": m.company_id,
            "user_id": m.user_id,
            "user_name": m.user_name,
            "body": m.body,
            "created_at": _iso(m.created_at),
        },
        m.created_at,
    )


def presence_event(company_id: str, online: Sequence[OnlineUser], now: datetime) -> Event:
    """The ``presence`` event: who is connected that sees ``company_id``."""
    return Event(
        "presence",
        company_id,
        {
            "company_id": company_id,
            "online": [{"user_id": u.user_id, "name": u.name} for u in online],
        },
        now,
    )


async def post_chat_message(
    services: Services, actor: User, company_id: str, command: NewChatMessage
) -> ChatMessage:
    """Store a message in the company's chat and publish it (``chat.message``)."""
    body = chat_body(command.body)
    now = services.clock.now()
    async with services.uow() as uow:
        await load_company(uow, actor, Action.CHAT, company_id)
        message = ChatMessage(
            id=services.ids.new_id(),
            company_id=company_id,
            user_id=actor.id,
            user_name=actor.name,
            body=body,
            created_at=now,
        )
        await uow.chat.add(message)
        await uow.commit()
    await services.events.publish(chat_message_event(message))
    return message


async def list_chat_messages(
    services: Services,
    actor: User,
    company_id: str,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> ChatPage:
    """The company's messages, newest first, and the actor's unread count there."""
    check_limit(limit)
    async with services.uow() as uow:
        await load_company(uow, actor, Action.CHAT, company_id)
        page = await uow.chat.list(company_id, cursor, limit)
        unread = await uow.chat.unread_counts(actor.id, [company_id])
    return ChatPage(page, unread.get(company_id, 0))


async def mark_chat_read(services: Services, actor: User, company_id: str) -> None:
    """Everything in the company's chat up to now counts as read by the actor."""
    now = services.clock.now()
    async with services.uow() as uow:
        await load_company(uow, actor, Action.CHAT, company_id)
        await uow.chat.mark_read(company_id, actor.id, now)
        await uow.commit()


async def chat_unread_counts(services: Services, actor: User) -> list[tuple[str, int]]:
    """``(company_id, unread)`` for every company whose chat the actor sees, in the order of
    the company list (by name)."""
    async with services.uow() as uow:
        companies = await uow.companies.list(visible_company_ids(actor))
        ids = [c.id for c in companies] if actor.active else []
        counts = await uow.chat.unread_counts(actor.id, ids) if ids else {}
    return [(c, counts.get(c, 0)) for c in ids]


async def presence_companies(services: Services, user: User) -> list[str]:
    """The companies in whose chat a connection of ``user`` shows them online: their own, or
    every company for an MSP admin."""
    if not user.active:
        return []
    if user.role is not Role.MSP_ADMIN:
        return sorted(user.company_ids)
    async with services.uow() as uow:
        return [c.id for c in await uow.companies.list(None)]


async def online_users(services: Services, user_ids: Collection[str]) -> list[OnlineUser]:
    """The active users among ``user_ids`` with their names, by name (then id)."""
    if not user_ids:
        return []
    async with services.uow() as uow:
        found = [await uow.users.get(user_id) for user_id in sorted(user_ids)]
    online = [OnlineUser(u.id, u.name) for u in found if u is not None and u.active]
    return sorted(online, key=lambda u: (u.name, u.user_id))
