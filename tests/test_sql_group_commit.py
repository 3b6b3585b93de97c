"""SQLite group commit: units of work queued behind each other share one transaction and one
COMMIT, and each one's ``commit()`` returns only once its own writes are durable.

"Durable" is checked from a second, independent connection to the same file: it only sees
committed transactions.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc

from alertwhisperer_adapters.sql import SqlStore

from .contract.records import company, user
from .support.sqlite_files import committed_companies, sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    async with sqlite_store(tmp_path) as opened:
        yield opened


def _count_commits(store: SqlStore) -> list[str]:
    seen: list[str] = []
    store.sqlite_connection.set_trace_callback(
        lambda sql: seen.append(sql) if sql == "COMMIT" else None
    )
    return seen


async def _queued(store: SqlStore, *jobs: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run ``jobs`` queued behind each other for the connection (as under load), in order;
    each one's outcome (its result or the exception it raised)."""
    await store.acquire_sqlite()
    tasks = [asyncio.create_task(job()) for job in jobs]
    await asyncio.sleep(0)  # every job is now waiting for the connection, in order
    store.release_sqlite()
    return await asyncio.gather(*tasks, return_exceptions=True)


def _add_company(store: SqlStore, company_id: str, *, fail: bool = False) -> Any:
    async def job() -> set[str]:
        async with store() as uow:
            await uow.companies.add(company(company_id))
            if fail:
                raise RuntimeError("refused")
            await uow.commit()
        # The moment the caller would answer 202: its write must already be committed.
        return committed_companies(store)

    return job


async def test_queued_units_of_work_share_one_commit_and_each_returns_durable(
    store: SqlStore,
) -> None:
    commits = _count_commits(store)
    seen = await _queued(store, *(_add_company(store, f"c{n}") for n in range(10)))
    assert len(commits) == 1
    for n, committed in enumerate(seen):
        assert f"c{n}" in committed
    assert committed_companies(store) == {f"c{n}" for n in range(10)}


async def test_concurrent_writers_are_all_durable_with_fewer_commits(store: SqlStore) -> None:
    commits = _count_commits(store)

    async def writer(n: int) -> set[str]:
        await asyncio.sleep(0)
        return await _add_company(store, f"c{n}")()

    seen = await asyncio.gather(*(writer(n) for n in range(30)))
    assert all(f"c{n}" in committed for n, committed in enumerate(seen))
    assert 1 <= len(commits) < 30


async def test_a_member_that_rolls_back_undoes_only_its_own_writes(store: SqlStore) -> None:
    commits = _count_commits(store)
    outcomes = await _queued(
        store,
        _add_company(store, "kept-1"),
        _add_company(store, "refused", fail=True),
        _add_company(store, "kept-2"),
    )
    assert isinstance(outcomes[1], RuntimeError)
    assert len(commits) == 1
    assert committed_companies(store) == {"kept-1", "kept-2"}


class _CommitFails:
    """The store's connection, except that COMMIT fails (a disk error)."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self._real = real

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        return self._real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def test_a_failed_group_commit_fails_every_member_and_stores_nothing(
    store: SqlStore,
) -> None:
    async with store() as uow:
        await uow.companies.add(company("before"))
        await uow.commit()
    real = store.sqlite_connection
    store.sqlite_connection = _CommitFails(real)
    outcomes = await _queued(store, *(_add_company(store, f"c{n}") for n in range(3)))
    store.sqlite_connection = real
    assert all(isinstance(o, exc.OperationalError) for o in outcomes), outcomes
    assert committed_companies(store) == {"before"}
    # Nothing of the failed group is remembered, and the store goes on working.
    async with store() as uow:
        assert await uow.companies.get("c0") is None
        await uow.companies.add(company("after"))
        await uow.commit()
    assert committed_companies(store) == {"before", "after"}


async def test_a_reader_of_what_the_group_wrote_waits_for_its_commit(store: SqlStore) -> None:
    async with store() as uow:
        await uow.users.add(user("u1"))
        await uow.commit()

    async def read(table: str) -> tuple[bool, set[str]]:
        async with store() as uow:
            if table == "companies":
                await uow.companies.get("new")
            else:
                await uow.users.get("u1")
            group = store.group  # the connection is taken at the first statement
        assert group is not None
        return group.done.done(), committed_companies(store)

    async def reader_of_companies() -> tuple[bool, set[str]]:
        return await read("companies")

    async def reader_of_users() -> tuple[bool, set[str]]:
        return await read("users")

    _, waited, did_not_wait = await _queued(
        store, _add_company(store, "new"), reader_of_companies, reader_of_users
    )
    # It read the companies table the group wrote: answered only once that is committed.
    assert waited == (True, {"new"})
    # It read nothing the group wrote: it did not wait for the group's commit.
    assert did_not_wait[0] is False


async def test_a_group_is_committed_even_if_the_next_unit_of_work_is_cancelled(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting: list[asyncio.Task[Any]] = []
    release = store.release_sqlite

    def release_then_cancel_the_next() -> None:
        release()  # hands the connection, and the open group, to the waiting task
        for task in waiting:
            task.cancel()

    async def writer() -> set[str]:
        async with store() as uow:
            await uow.companies.add(company("acme"))
            monkeypatch.setattr(store, "release_sqlite", release_then_cancel_the_next)
            await uow.commit()
        return committed_companies(store)

    async def next_in_line() -> None:
        async with store() as uow:
            await uow.companies.get("acme")

    await store.acquire_sqlite()
    first = asyncio.create_task(writer())
    waiting.append(asyncio.create_task(next_in_line()))
    await asyncio.sleep(0)
    store.release_sqlite()
    committed = await asyncio.wait_for(first, timeout=30)
    monkeypatch.undo()
    assert "acme" in committed
    with pytest.raises(asyncio.CancelledError):
        await waiting[0]


async def test_a_group_asks_for_the_data_version_once_and_still_sees_other_commits(
    store: SqlStore, tmp_path: Path
) -> None:
    async def read_and_add(company_id: str) -> Callable[[], Awaitable[Any]]:
        async def job() -> set[str]:
            async with store() as uow:
                await uow.companies.add(company(company_id))
                # A cached read: it checks that no other connection committed meanwhile.
                await uow.assets.by_name("c0", "web-1")
                await uow.commit()
            return committed_companies(store)

        return job

    asked: list[str] = []
    store.sqlite_connection.set_trace_callback(
        lambda sql: asked.append(sql) if sql == "PRAGMA data_version" else None
    )
    await _queued(store, *[await read_and_add(f"c{n}") for n in range(5)])
    # One write transaction, one check: nobody else can commit while it holds the write lock.
    assert len(asked) == 1
    # Once it has ended, the next read asks again and sees another connection's commit.
    other = sqlite3.connect(tmp_path / "aw.db")
    other.execute(
        "INSERT INTO assets (id, company_id, name, type, os, environment, is_critical, tags)"
        " VALUES ('a-1', 'c0', 'web-1', 'server', 'linux', 'production', 1, '[]')"
    )
    other.commit()
    other.close()
    async with store() as uow:
        assert await uow.assets.by_name("c0", "web-1") is not None
    assert len(asked) > 1
