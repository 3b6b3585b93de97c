"""A user's own notifications (SPEC §10, §11): list, mark one read, mark all read.

Notifications belong to one user: nobody, not even an MSP admin, reads or marks another's, and
another user's notification answers exactly as a missing one does (404).
"""

from __future__ import annotations

import attrs

from .._models import User
from .._notifications import Notification
from ..ports import Page
from ._access import not_found
from ._queries import DEFAULT_LIMIT, check_limit
from ._services import Services

__all__ = [
    "NotificationPage",
    "list_notifications",
    "mark_all_notifications_read",
    "mark_notification_read",
]


@attrs.frozen
class NotificationPage:
    """One page of the actor's notifications, and how many of all of them are unread."""

    page: Page[Notification]
    unread_count: int


async def list_notifications(
    services: Services,
    actor: User,
    *,
    unread_only: bool = False,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> NotificationPage:
    """The actor's notifications, newest first."""
    check_limit(limit)
    async with services.uow() as uow:
        page = await uow.notifications.list_for_user(actor.id, unread_only, cursor, limit)
        unread = await uow.notifications.unread_count(actor.id)
    return NotificationPage(page, unread)


async def mark_notification_read(services: Services, actor: User, notification_id: str) -> None:
    """Mark one of the actor's notifications read (again: harmless); 404 for any other."""
    now = services.clock.now()
    async with services.uow() as uow:
        if not await uow.notifications.mark_read(actor.id, notification_id, now):
            raise not_found("Notification")
        await uow.commit()


async def mark_all_notifications_read(services: Services, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many there were."""
    now = services.clock.now()
    async with services.uow() as uow:
        count = await uow.notifications.mark_all_read(actor.id, now)
        await uow.commit()
    return count
