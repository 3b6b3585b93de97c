"""Chat repository contract: per-company history newest first, cursors, read marks, unread."""

from __future__ import annotations

from typing import Any

import pytest

from alertwhisperer_core._chat import ChatMessage
from alertwhisperer_core.errors import ValidationError
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import at


def message(message_id: str, company_id: str = "acme", **kw: Any) -> ChatMessage:
    fields: dict[str, Any] = {
        "id": message_id,
        "company_id": company_id,
        "user_id": "u-1",
        "user_name": "Ada",
        "body": "looking at web-01",
        "created_at": at(0),
    }
    fields.update(kw)
    return ChatMessage(**fields)


async def _add(store: UnitOfWorkFactory, *messages: ChatMessage) -> None:
    async with store() as uow:
        for m in messages:
            await uow.chat.add(m)
        await uow.commit()


async def _unread(store: UnitOfWorkFactory, user_id: str, *companies: str) -> dict[str, int]:
    async with store() as uow:
        return dict(await uow.chat.unread_counts(user_id, list(companies)))


async def _mark(store: UnitOfWorkFactory, company_id: str, user_id: str, when: Any) -> None:
    async with store() as uow:
        await uow.chat.mark_read(company_id, user_id, when)
        await uow.commit()


async def test_a_message_round_trips_exactly_markup_and_all(store: UnitOfWorkFactory) -> None:
    stored = message(
        "m-1", body="<script>alert('x')</script> & Ünïcode ✓\nline 2", created_at=at(3, micro=7)
    )
    await _add(store, stored)
    async with store() as uow:
        page = await uow.chat.list("acme")
    assert page.items == (stored,)
    assert page.next_cursor is None


async def test_a_company_lists_only_its_own_messages_newest_first(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        message("m-1", created_at=at(1)),
        message("m-2", created_at=at(3)),
        message("m-3", company_id="globex", created_at=at(2)),
        message("m-4", created_at=at(3)),
    )
    async with store() as uow:
        page = await uow.chat.list("acme")
    assert [m.id for m in page.items] == ["m-4", "m-2", "m-1"]


async def test_cursor_pages_cover_every_message_once(store: UnitOfWorkFactory) -> None:
    await _add(store, *(message(f"m-{i:02}", created_at=at(i // 3)) for i in range(10)))
    seen: list[str] = []
    cursor = None
    async with store() as uow:
        while True:
            page = await uow.chat.list("acme", cursor=cursor, limit=4)
            assert len(page.items) <= 4
            seen += [m.id for m in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == [f"m-{i:02}" for i in reversed(range(10))]


async def test_a_foreign_cursor_is_a_validation_error(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        with pytest.raises(ValidationError):
            await uow.chat.list("acme", cursor="not-a-cursor!")


async def test_without_a_read_mark_every_message_by_others_is_unread(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        message("m-1", user_id="u-2"),
        message("m-2", user_id="u-2", created_at=at(1)),
        message("m-3", user_id="u-1", created_at=at(2)),  # one's own: never unread
        message("m-4", company_id="globex", user_id="u-2"),
    )
    assert await _unread(store, "u-1", "acme", "globex", "initech") == {
        "acme": 2,
        "globex": 1,
        "initech": 0,
    }


async def test_a_read_mark_counts_only_later_messages_and_only_its_company(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        message("m-1", user_id="u-2", created_at=at(1)),
        message("m-2", user_id="u-2", created_at=at(2)),
        message("m-3", user_id="u-2", created_at=at(3)),
        message("m-4", company_id="globex", user_id="u-2", created_at=at(1)),
    )
    await _mark(store, "acme", "u-1", at(2))
    assert await _unread(store, "u-1", "acme", "globex") == {"acme": 1, "globex": 1}
    assert await _unread(store, "u-2", "acme") == {"acme": 0}
    assert await _unread(store, "u-3", "acme") == {"acme": 3}  # marks are per user


async def test_marking_again_moves_the_mark(store: UnitOfWorkFactory) -> None:
    await _add(store, message("m-1", user_id="u-2", created_at=at(5)))
    await _mark(store, "acme", "u-1", at(1))
    assert await _unread(store, "u-1", "acme") == {"acme": 1}
    await _mark(store, "acme", "u-1", at(6))
    assert await _unread(store, "u-1", "acme") == {"acme": 0}


async def test_no_companies_no_counts(store: UnitOfWorkFactory) -> None:
    await _add(store, message("m-1", user_id="u-2"))
    assert await _unread(store, "u-1") == {}


async def test_a_rolled_back_message_and_mark_leave_nothing(store: UnitOfWorkFactory) -> None:
    await _add(store, message("m-1", user_id="u-2", created_at=at(1)))
    async with store() as uow:
        await uow.chat.add(message("m-2", user_id="u-2", created_at=at(2)))
        await uow.chat.mark_read("acme", "u-1", at(9))
    async with store() as uow:
        page = await uow.chat.list("acme")
    assert [m.id for m in page.items] == ["m-1"]
    assert await _unread(store, "u-1", "acme") == {"acme": 1}
