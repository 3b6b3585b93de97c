"""Notification repository contract: per-user lists newest first, cursors, read state."""

from __future__ import annotations

from typing import Any

import pytest

from alertwhisperer_core._notifications import Notification, NotificationType
from alertwhisperer_core.errors import ValidationError
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import at


def note(notification_id: str, user_id: str = "u-1", **kw: Any) -> Notification:
    fields: dict[str, Any] = {
        "id": notification_id,
        "user_id": user_id,
        "company_id": "acme",
        "type": NotificationType.CRITICAL,
        "title": "Critical: disk_full on web-01",
        "body": "3 alert(s)",
        "link_type": "incident",
        "link_id": "inc-1",
        "created_at": at(0),
    }
    fields.update(kw)
    return Notification(**fields)


async def _add(store: UnitOfWorkFactory, *notes: Notification) -> None:
    async with store() as uow:
        await uow.notifications.add_many(notes)
        await uow.commit()


async def test_a_notification_round_trips_exactly(store: UnitOfWorkFactory) -> None:
    stored = note(
        "n-1", company_id=None, type=NotificationType.WARNING, title="Ünïcode ✓", body="",
        link_type="approval", link_id="ap-9", created_at=at(3, micro=7), read_at=at(4, micro=1),
    )  # fmt: skip
    await _add(store, stored)
    async with store() as uow:
        page = await uow.notifications.list_for_user("u-1")
    assert page.items == (stored,)
    assert page.next_cursor is None


async def test_a_user_lists_only_their_own_newest_first(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        note("n-1", created_at=at(1)),
        note("n-2", created_at=at(3)),
        note("n-3", user_id="u-2", created_at=at(2)),
        note("n-4", created_at=at(3)),
    )
    async with store() as uow:
        page = await uow.notifications.list_for_user("u-1")
    assert [n.id for n in page.items] == ["n-4", "n-2", "n-1"]


async def test_cursor_pages_cover_every_notification_once(store: UnitOfWorkFactory) -> None:
    await _add(store, *(note(f"n-{i:02}", created_at=at(i // 3)) for i in range(10)))
    seen: list[str] = []
    cursor = None
    async with store() as uow:
        while True:
            page = await uow.notifications.list_for_user("u-1", cursor=cursor, limit=4)
            seen += [n.id for n in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == [f"n-{i:02}" for i in reversed(range(10))]


async def test_a_foreign_cursor_is_a_validation_error(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        with pytest.raises(ValidationError):
            await uow.notifications.list_for_user("u-1", cursor="not-a-cursor!")


async def test_unread_only_leaves_out_read_notifications(store: UnitOfWorkFactory) -> None:
    await _add(store, note("n-1"), note("n-2", read_at=at(1)))
    async with store() as uow:
        page = await uow.notifications.list_for_user("u-1", unread_only=True)
        count = await uow.notifications.unread_count("u-1")
    assert [n.id for n in page.items] == ["n-1"]
    assert count == 1


async def test_mark_read_sets_read_at_once(store: UnitOfWorkFactory) -> None:
    await _add(store, note("n-1"))
    async with store() as uow:
        assert await uow.notifications.mark_read("u-1", "n-1", at(5))
        assert await uow.notifications.mark_read("u-1", "n-1", at(9))
        await uow.commit()
    async with store() as uow:
        (read,) = (await uow.notifications.list_for_user("u-1")).items
    assert read.read_at == at(5)


async def test_mark_read_of_another_users_notification_changes_nothing(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, note("n-1", user_id="u-2"))
    async with store() as uow:
        assert not await uow.notifications.mark_read("u-1", "n-1", at(5))
        assert not await uow.notifications.mark_read("u-1", "missing", at(5))
        await uow.commit()
    async with store() as uow:
        assert await uow.notifications.unread_count("u-2") == 1


async def test_mark_all_read_counts_only_the_users_unread(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        note("n-1"),
        note("n-2"),
        note("n-3", read_at=at(1)),
        note("n-4", user_id="u-2"),
    )
    async with store() as uow:
        assert await uow.notifications.mark_all_read("u-1", at(7)) == 2
        await uow.commit()
    async with store() as uow:
        assert await uow.notifications.unread_count("u-1") == 0
        assert await uow.notifications.unread_count("u-2") == 1
        items = (await uow.notifications.list_for_user("u-1")).items
    assert {n.id: n.read_at for n in items} == {"n-1": at(7), "n-2": at(7), "n-3": at(1)}


async def test_notifications_not_committed_are_not_kept(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.notifications.add_many([note("n-1")])
    async with store() as uow:
        assert await uow.notifications.unread_count("u-1") == 0
