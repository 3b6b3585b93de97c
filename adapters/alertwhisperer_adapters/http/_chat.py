"""``/api/chat``: company chat history, posting, read marks and unread counts (SPEC §10, §11).

Tenant rules as everywhere: a user chats in their own companies (MSP admins in all); another
company's chat is 404, exactly like a missing company. Bodies are plain text returned exactly
as stored (markup included): clients escape them when they display them. Who is online comes
from the live ``/ws`` connections (``AppServices.presence``).
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core._chat import ChatMessage
from alertwhisperer_core.service import (
    NewChatMessage,
    chat_unread_counts,
    decode_command,
    list_chat_messages,
    mark_chat_read,
    online_users,
    post_chat_message,
)

from ._auth import authenticate
from ._context import app_services
from ._io import CURSOR, LIMIT, json_response, read_body
from ._routing import Endpoint

__all__ = ["ENDPOINTS", "chat_message_out"]

_BODY_LIMIT = 64 * 1024


class ChatMessageOut(msgspec.Struct, frozen=True):
    id: str
    company_id: str
    user_id: str
    user_name: str
    body: str
    created_at: datetime


class OnlineUserOut(msgspec.Struct, frozen=True):
    user_id: str
    name: str


class ChatPageOut(msgspec.Struct, frozen=True):
    items: list[ChatMessageOut]
    next_cursor: str | None
    unread: int
    online: list[OnlineUserOut]


class ChatReadOut(msgspec.Struct, frozen=True):
    unread: int


class ChatUnreadItem(msgspec.Struct, frozen=True):
    company_id: str
    unread: int


class ChatUnreadOut(msgspec.Struct, frozen=True):
    items: list[ChatUnreadItem]


def chat_message_out(m: ChatMessage) -> ChatMessageOut:
    return ChatMessageOut(
        id=m.id,
        company_id=m.company_id,
        user_id=m.user_id,
        user_name=m.user_name,
        body=m.body,
        created_at=m.created_at,
    )


async def chat_messages_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    company_id = request.path_params["company_id"]
    result = await list_chat_messages(
        app.services, actor, company_id, cursor=CURSOR.get(request), limit=LIMIT.get(request)
    )
    # Only after the tenant check above: presence says nothing about another tenant.
    online = await online_users(app.services, await app.presence.online(company_id))
    return json_response(
        ChatPageOut(
            items=[chat_message_out(m) for m in result.page.items],
            next_cursor=result.page.next_cursor,
            unread=result.unread,
            online=[OnlineUserOut(u.user_id, u.name) for u in online],
        )
    )


async def chat_message_create(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    command = decode_command(await read_body(request, _BODY_LIMIT), NewChatMessage)
    message = await post_chat_message(
        app.services, actor, request.path_params["company_id"], command
    )
    return json_response(chat_message_out(message), 201)


async def chat_read(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    await mark_chat_read(app.services, actor, request.path_params["company_id"])
    return json_response(ChatReadOut(unread=0))


async def chat_unread(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    counts = await chat_unread_counts(app.services, actor)
    return json_response(ChatUnreadOut([ChatUnreadItem(c, n) for c, n in counts]))


_C = "chat"
ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/chat/unread",
        chat_unread,
        "My unread chat messages per company",
        _C,
        response=ChatUnreadOut,
        description="One item per company whose chat the caller sees; one's own messages "
        "never count as unread.",
    ),
    Endpoint(
        "GET",
        "/api/chat/{company_id}/messages",
        chat_messages_list,
        "A company's chat, newest first",
        _C,
        query=(CURSOR, LIMIT),
        response=ChatPageOut,
        errors=(404,),
        description="With the caller's unread count in this chat and who is connected "
        "(over /ws) that sees this company. Bodies are plain text: escape them to display.",
    ),
    Endpoint(
        "POST",
        "/api/chat/{company_id}/messages",
        chat_message_create,
        "Post to a company's chat",
        _C,
        body=NewChatMessage,
        status=201,
        response=ChatMessageOut,
        errors=(404,),
        description="body: 1 to 2000 characters once surrounding whitespace is stripped "
        "(else 422 naming body). Publishes chat.message to the company's /ws connections.",
    ),
    Endpoint(
        "POST",
        "/api/chat/{company_id}/read",
        chat_read,
        "Mark a company's chat read up to now",
        _C,
        response=ChatReadOut,
        errors=(404,),
    ),
)
