"""SQLite durability without holding the connection during the fsync (``WalSync``).

The store's connection commits with ``synchronous = NORMAL`` (a ``COMMIT`` writes the WAL and
does not sync it) and the store syncs the WAL file itself, on a thread. These tests replace
that sync with a gate they open and close, to check the promise: ``commit()`` returns only
after a sync that started after its ``COMMIT`` is done, the connection serves the next unit
of work meanwhile, a failed sync fails every commit waiting for it (and all later ones), and
a unit of work that read rows not yet durable waits for them too.

"Committed" is checked from a second, independent connection to the same file: it only sees
committed transactions.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc

from alertwhisperer_adapters.sql import SqlStore, open_sql_store

from .contract.records import company, user
from .support.sqlite_files import (
    committed_companies,
    committed_companies_at,
    db_path,
    sqlite_store,
)

WAIT = 10.0  # seconds: a bound on waiting for the other thread, never reached when correct


class Gate:
    """A replacement for the store's WAL sync: each call waits until let through, then
    fails if told to, else syncs for real. It records what another connection saw as each
    sync started (what that sync covers)."""

    def __init__(self, store: SqlStore) -> None:
        assert store.wal is not None
        self.real: Callable[[int], None] = store.wal.sync
        self.db = db_path(store)
        self.fail: BaseException | None = None
        self.seen_at_start: list[set[str]] = []
        self._started = threading.Semaphore(0)
        self._go = threading.Semaphore(0)
        store.wal.sync = self

    def __call__(self, fd: int) -> None:
        self.seen_at_start.append(committed_companies_at(self.db))
        self._started.release()
        if not self._go.acquire(timeout=WAIT):
            raise TimeoutError("the test never let this sync through")
        if self.fail is not None:
            raise self.fail
        self.real(fd)

    async def started(self) -> None:
        """Wait until a sync has started (and is held at the gate)."""
        assert await asyncio.to_thread(self._started.acquire, True, WAIT), "no sync started"

    def let_through(self, count: int = 1) -> None:
        self._go.release(count)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    async with sqlite_store(tmp_path) as opened:
        try:
            yield opened
        finally:
            if opened.wal is not None and isinstance(opened.wal.sync, Gate):
                opened.wal.sync.let_through(100)  # whatever a failed test left waiting


async def _add_company(store: SqlStore, company_id: str) -> None:
    async with store() as uow:
        await uow.companies.add(company(company_id))
        await uow.commit()


async def _not_done_yet(task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` is still waiting after the event loop has had every chance to run it
    on (it waits for something that is not going to happen by itself)."""
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    return not task.done()


async def test_commits_sync_the_wal_themselves(store: SqlStore) -> None:
    mode = store.sqlite_connection.execute("PRAGMA synchronous").fetchone()[0]
    autocheckpoint = store.sqlite_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert store.wal is not None
    assert (mode, autocheckpoint) == (1, 0)  # NORMAL: COMMIT does not sync; no checkpoint
    # The descriptor it syncs is the WAL file SQLite writes.
    assert os.fstat(store.wal.fd).st_ino == os.stat(db_path(store) + "-wal").st_ino


async def test_commit_returns_only_once_a_sync_started_after_it_is_done(
    store: SqlStore,
) -> None:
    gate = Gate(store)
    writer = asyncio.create_task(_add_company(store, "acme"))
    await gate.started()
    # The sync started after COMMIT had returned: it covers the commit.
    assert gate.seen_at_start == [{"acme"}]
    # Committed (another connection sees it), not durable yet: commit() has not returned.
    assert await _not_done_yet(writer)
    gate.let_through()
    await asyncio.wait_for(writer, WAIT)
    assert store.wal is not None
    assert store.wal.syncs == 1


async def test_the_next_unit_of_work_runs_while_the_previous_one_is_synced(
    store: SqlStore,
) -> None:
    gate = Gate(store)
    first = asyncio.create_task(_add_company(store, "first"))
    await gate.started()
    wrote = asyncio.Event()

    async def second_writer() -> None:
        async with store() as uow:
            await uow.companies.add(company("second"))
            wrote.set()
            await uow.commit()

    second = asyncio.create_task(second_writer())
    # The second unit of work has the connection and writes while the first sync runs.
    await asyncio.wait_for(wrote.wait(), WAIT)
    assert await _not_done_yet(first)
    assert await _not_done_yet(second)
    gate.let_through()
    await asyncio.wait_for(first, WAIT)
    # The second one waits for a sync of its own, which started after its COMMIT.
    await gate.started()
    assert await _not_done_yet(second)
    assert gate.seen_at_start == [{"first"}, {"first", "second"}]
    gate.let_through()
    await asyncio.wait_for(second, WAIT)


async def test_commits_made_during_a_sync_share_the_next_one(store: SqlStore) -> None:
    gate = Gate(store)
    first = asyncio.create_task(_add_company(store, "first"))
    await gate.started()
    others = [asyncio.create_task(_add_company(store, f"c{n}")) for n in range(10)]
    assert await _not_done_yet(others[-1])
    gate.let_through()
    await asyncio.wait_for(first, WAIT)
    await gate.started()
    gate.let_through()
    await asyncio.wait_for(asyncio.gather(*others), WAIT)
    assert store.wal is not None
    assert store.wal.syncs == 2
    assert gate.seen_at_start[1] == {"first", *(f"c{n}" for n in range(10))}


async def test_a_commit_made_while_a_sync_runs_waits_for_the_next_sync(store: SqlStore) -> None:
    store.group_max_seconds = 0.0  # every group is committed at once, sync or not
    gate = Gate(store)
    first = asyncio.create_task(_add_company(store, "first"))
    await gate.started()
    second = asyncio.create_task(_add_company(store, "second"))
    assert await _not_done_yet(second)
    assert committed_companies(store) == {"first", "second"}  # its COMMIT is made
    gate.let_through()
    await asyncio.wait_for(first, WAIT)
    # The sync that was running had started before that COMMIT: it does not cover it.
    await gate.started()
    assert await _not_done_yet(second)
    gate.let_through()
    await asyncio.wait_for(second, WAIT)
    assert gate.seen_at_start == [{"first"}, {"first", "second"}]


async def test_a_failed_sync_fails_every_commit_waiting_for_it_and_all_later_ones(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alertwhisperer_adapters.sql._store as store_module

    # The member of the group gathered during the sync is failed as the sync fails, not by
    # the watchdog that commits forgotten groups.
    monkeypatch.setattr(store_module, "_GROUP_WATCHDOG_SECONDS", 3600.0)
    store.group_max_seconds = 3600.0
    await _add_company(store, "before")
    gate = Gate(store)
    gate.fail = OSError(errno.EIO, "Input/output error")
    first = asyncio.create_task(_add_company(store, "first"))
    await gate.started()
    joined = asyncio.create_task(_add_company(store, "joined"))  # waits for the next sync
    assert await _not_done_yet(first)
    assert store.group is not None  # "joined" is in it, not committed
    gate.let_through()
    outcomes = await asyncio.wait_for(asyncio.gather(first, joined, return_exceptions=True), WAIT)
    assert all(isinstance(o, exc.OperationalError) for o in outcomes), outcomes
    assert all("disk I/O error" in str(o) for o in outcomes)
    # The failed sync came before "joined" was committed: it never was.
    assert committed_companies(store) == {"before", "first"}
    # Nothing is promised durable any more: writes are refused, reads of rows that were
    # not durable fail, the store is not ready, and no further sync is attempted.
    with pytest.raises(exc.OperationalError):
        await _add_company(store, "later")
    with pytest.raises(exc.OperationalError):
        async with store() as uow:
            await uow.companies.get("first")
    assert await store.ping() is False
    assert len(gate.seen_at_start) == 1
    # What was durable before the failure still reads fine.
    async with store() as uow:
        assert await uow.users.get("nobody") is None


async def test_a_reader_of_rows_not_durable_yet_waits_for_their_sync(store: SqlStore) -> None:
    await _add_company(store, "old")
    async with store() as uow:
        await uow.users.add(user("u1"))
        await uow.commit()
    gate = Gate(store)
    writer = asyncio.create_task(_add_company(store, "new"))
    await gate.started()

    async def read(table: str) -> None:
        async with store() as uow:
            if table == "companies":
                assert await uow.companies.get("new") is not None
            else:
                assert await uow.users.get("u1") is not None

    reader = asyncio.create_task(read("companies"))
    # A reader of a table nothing in flight wrote does not wait.
    await asyncio.wait_for(read("users"), WAIT)
    assert await _not_done_yet(reader)
    gate.let_through()
    await asyncio.wait_for(asyncio.gather(writer, reader), WAIT)


async def test_a_reader_of_another_connections_commit_waits_for_a_sync(
    store: SqlStore,
) -> None:
    await _add_company(store, "acme")
    gate = Gate(store)
    # Another process's commit without a sync of its own (synchronous NORMAL).
    other = sqlite3.connect(db_path(store), isolation_level=None)
    try:
        other.execute("PRAGMA synchronous = NORMAL")
        other.execute("UPDATE companies SET name = 'Renamed' WHERE id = 'acme'")
    finally:
        other.close()

    async def read() -> str:
        async with store() as uow:
            found = await uow.companies.get("acme")
        assert found is not None
        return found.name

    reader = asyncio.create_task(read())
    await gate.started()
    assert await _not_done_yet(reader)
    gate.let_through()
    assert await asyncio.wait_for(reader, WAIT) == "Renamed"


async def test_a_commit_cancelled_while_it_waits_leaves_the_others_waiting(
    store: SqlStore,
) -> None:
    gate = Gate(store)
    first = asyncio.create_task(_add_company(store, "first"))
    await gate.started()
    second = asyncio.create_task(_add_company(store, "second"))
    third = asyncio.create_task(_add_company(store, "third"))
    assert await _not_done_yet(third)
    second.cancel()
    gate.let_through(2)
    await asyncio.wait_for(asyncio.gather(first, third), WAIT)
    with pytest.raises(asyncio.CancelledError):
        await second
    # Its COMMIT was made (the group's) before it was cancelled: cancelled, not undone.
    assert committed_companies(store) == {"first", "second", "third"}


async def test_a_commit_is_in_the_wal_file_when_it_returns(store: SqlStore, tmp_path: Path) -> None:
    await _add_company(store, "acme")
    # A copy of the files as they are now (no -shm: SQLite rebuilds it from the WAL), as if
    # the machine stopped here; SQLite recovers the commit from the copied WAL.
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(db_path(store), copy / "aw.db")
    shutil.copy(db_path(store) + "-wal", copy / "aw.db-wal")
    assert committed_companies_at(str(copy / "aw.db")) == {"acme"}


async def test_commits_are_in_the_database_after_reopening_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/aw.db"
    store = await open_sql_store(url)
    try:
        for n in range(5):
            await _add_company(store, f"c{n}")
    finally:
        await store.close()
    assert committed_companies_at(str(tmp_path / "aw.db")) == {f"c{n}" for n in range(5)}
    reopened = await open_sql_store(url)
    try:
        async with reopened() as uow:
            assert await uow.companies.get("c4") is not None
    finally:
        await reopened.close()


def _wal_salts(path: str) -> bytes:
    with open(path + "-wal", "rb") as wal:
        return wal.read(32)[16:24]  # the WAL header's salts: new ones each time it starts over


async def test_checkpoints_run_beside_the_units_of_work_and_the_wal_starts_over(
    store: SqlStore,
) -> None:
    store.checkpoint_seconds = 0.0
    store.checkpoint_restart_frames = 20
    db = db_path(store)
    salts = {_wal_salts(db)}
    for n in range(200):
        await _add_company(store, f"c{n}")
        if n % 10 == 0 and store._checkpointing is not None:
            await store._checkpointing
        salts.add(_wal_salts(db))
    if store._checkpointing is not None:
        await store._checkpointing
    assert len(salts) > 2  # the WAL started over several times
    # Everything was copied into the database file, which alone holds all of it.
    assert os.path.getsize(db + "-wal") < 4096 * 200
    assert committed_companies(store) == {f"c{n}" for n in range(200)}


async def test_one_sync_of_the_wal_at_open_covers_what_was_committed_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alertwhisperer_adapters.sql._store as store_module

    db = tmp_path / "aw.db"
    store = await open_sql_store(f"sqlite:///{db}")
    try:
        await _add_company(store, "acme")
    finally:
        await store.close()
    # Another process's commit, not synced (synchronous NORMAL), still open when we start.
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA synchronous = NORMAL")
    other.execute("UPDATE companies SET name = 'Renamed' WHERE id = 'acme'")
    synced: list[int] = []
    real = store_module._sync_function()

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(store_module, "_sync_function", lambda: counting)
    store = await open_sql_store(f"sqlite:///{db}")
    other.close()
    try:
        assert store.wal is not None
        assert len(synced) == 1
        async with store() as uow:
            found = await uow.companies.get("acme")
        # What it read was durable already: no ticket, no sync.
        assert found is not None
        assert found.name == "Renamed"
        assert (store.wal.issued, len(synced)) == (0, 1)
    finally:
        await store.close()


async def test_a_long_wal_is_checkpointed_once_more_with_the_connection_held(
    store: SqlStore,
) -> None:
    """Under steady writes the background checkpoint never catches up; the one that follows
    it holds the connection, so that the WAL can start over: it commits the group that
    gathered during the sync in flight first, and copies everything."""
    store.checkpoint_seconds = float("inf")  # only the checkpoint started here
    store.group_max_seconds = 3600.0  # the group stays open however slow this machine is
    store.checkpoint_restart_frames = 1
    assert store.checkpointer is not None
    real = store.checkpointer.checkpoint
    calls: list[tuple[bool, bool, set[str], tuple[int, int, int]]] = []

    async def recording() -> tuple[int, int, int]:
        held, no_group = store._sqlite_lock.locked(), store.group is None
        result = await real()
        calls.append((held, no_group, committed_companies(store), result))
        return result

    store.checkpointer.checkpoint = recording  # type: ignore[method-assign]
    gate = Gate(store)
    first = asyncio.create_task(_add_company(store, "first"))
    await gate.started()
    second = asyncio.create_task(_add_company(store, "second"))  # gathers in the open group
    assert await _not_done_yet(second)
    assert store.group is not None
    db = db_path(store)
    salts = _wal_salts(db)
    await store._checkpoint()
    (held_1, _, seen_1, _), (held_2, no_group_2, seen_2, (busy, frames, copied)) = calls
    assert (held_1, seen_1) == (False, {"first"})
    assert (held_2, no_group_2, seen_2) == (True, True, {"first", "second"})
    assert busy == 0
    assert copied == frames
    gate.let_through(3)
    await asyncio.wait_for(asyncio.gather(first, second), WAIT)
    await asyncio.wait_for(_add_company(store, "third"), WAIT)
    assert _wal_salts(db) != salts  # it did
