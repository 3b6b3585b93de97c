"""``/api/notifications``: the logged-in user's own notifications (SPEC §10, §11).

Every user, whatever their role, sees and marks only their own; another user's notification
is a 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import ValidationError
from alertwhisperer_core._notifications import Notification
from alertwhisperer_core.service import (
    list_notifications,
    mark_all_notifications_read,
    mark_notification_read,
)

from ._auth import authenticate
from ._context import app_services
from ._io import CURSOR, LIMIT, TextParam, json_response
from ._routing import Endpoint

__all__ = ["ENDPOINTS"]

UNREAD = TextParam("unread", "true: only unread notifications.", 5)
_TRUE, _FALSE = ("true", "1"), ("false", "0")


class LinkOut(msgspec.Struct, frozen=True):
    type: str
    id: str


class NotificationOut(msgspec.Struct, frozen=True):
    id: str
    type: str
    title: str
    body: str
    link: LinkOut
    company_id: str | None
    created_at: datetime
    read_at: datetime | None
    read: bool


class NotificationPageOut(msgspec.Struct, frozen=True):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class ReadAllOut(msgspec.Struct, frozen=True):
    updated: int


def notification_out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id,
        type=n.type.value,
        title=n.title,
        body=n.body,
        link=LinkOut(type=n.link_type, id=n.link_id),
        company_id=n.company_id,
        created_at=n.created_at,
        read_at=n.read_at,
        read=n.is_read,
    )


def _unread_only(request: Request) -> bool:
    value = UNREAD.get(request)
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise ValidationError.for_field("unread", "must be true or false")


async def notifications_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    result = await list_notifications(
        app.services,
        actor,
        unread_only=_unread_only(request),
        cursor=CURSOR.get(request),
        limit=LIMIT.get(request),
    )
    return json_response(
        NotificationPageOut(
            items=[notification_out(n) for n in result.page.items],
            next_cursor=result.page.next_cursor,
            unread_count=result.unread_count,
        )
    )


async def notification_read(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    await mark_notification_read(app.services, actor, request.path_params["id"])
    return Response(status_code=204)


async def notifications_read_all(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    return json_response(ReadAllOut(await mark_all_notifications_read(app.services, actor)))


_N = "notifications"
ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/notifications",
        notifications_list,
        "My notifications, newest first",
        _N,
        query=(UNREAD, CURSOR, LIMIT),
        response=NotificationPageOut,
        description="Only the logged-in user's own; unread_count counts all their unread ones.",
    ),
    Endpoint(
        "POST",
        "/api/notifications/read-all",
        notifications_read_all,
        "Mark all my notifications read",
        _N,
        response=ReadAllOut,
    ),
    Endpoint(
        "POST",
        "/api/notifications/{id}/read",
        notification_read,
        "Mark one of my notifications read",
        _N,
        status=204,
        media_types=(),
        errors=(404,),
        description="Another user's notification answers 404, like a missing one.",
    ),
)
