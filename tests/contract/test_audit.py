"""Audit log contract: append-only, filtered, newest first with cursors."""

from __future__ import annotations

from alertwhisperer_core import AuditEntry
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core.ports import AuditQuery, UnitOfWorkFactory

from .records import at, audit_entry


async def _append(store: UnitOfWorkFactory, *entries: AuditEntry) -> None:
    async with store() as uow:
        for e in entries:
            await uow.audit.append(e)
        await uow.commit()


async def _ids(store: UnitOfWorkFactory, query: AuditQuery) -> list[str]:
    async with store() as uow:
        return [e.id for e in (await uow.audit.list(query)).items]


async def test_audit_entry_round_trips(store: UnitOfWorkFactory) -> None:
    entry = audit_entry("e-1", timestamp=at(1, micro=42))
    system = audit_entry("e-2", None, user_id=None, user_name="system", details={})
    await _append(store, entry, system)
    async with store() as uow:
        assert (await uow.audit.list(AuditQuery())).items == (entry, system)


async def test_audit_has_no_update_or_delete(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert not any(hasattr(uow.audit, name) for name in ("update", "delete", "remove"))


async def test_audit_lists_newest_first_then_id(store: UnitOfWorkFactory) -> None:
    await _append(store, audit_entry("b", timestamp=at(1)), audit_entry("a", timestamp=at(1)),
                  audit_entry("c", timestamp=at(0)))  # fmt: skip
    assert await _ids(store, AuditQuery()) == ["b", "a", "c"]


async def test_audit_filters(store: UnitOfWorkFactory) -> None:
    await _append(
        store,
        audit_entry("e1", action="login_failed", timestamp=at(0)),
        audit_entry("e2", user_id="u-2", timestamp=at(1)),
        audit_entry("e3", "globex", timestamp=at(2)),
        audit_entry("e4", None, timestamp=at(3)),
    )
    assert await _ids(store, AuditQuery(action="login_failed")) == ["e1"]
    assert await _ids(store, AuditQuery(user_id="u-2")) == ["e2"]
    assert await _ids(store, AuditQuery(company_ids=frozenset({"globex"}))) == ["e3"]
    assert await _ids(store, AuditQuery(since=at(1), until=at(3))) == ["e3", "e2"]


async def test_audit_pages_walk_every_entry_once(store: UnitOfWorkFactory) -> None:
    entries = [audit_entry(f"e{n}", timestamp=at(n // 2)) for n in range(5)]
    await _append(store, *entries)
    seen: list[str] = []
    cursor = None
    async with store() as uow:
        while True:
            page = await uow.audit.list(AuditQuery(limit=2, cursor=cursor))
            seen += [e.id for e in page.items]
            if page.next_cursor is None:
                break
            last = page.items[-1]
            assert page.next_cursor == encode_cursor(last.timestamp.isoformat(), last.id)
            cursor = page.next_cursor
    assert seen == ["e4", "e3", "e2", "e1", "e0"]
