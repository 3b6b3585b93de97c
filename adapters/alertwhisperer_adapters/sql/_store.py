"""The SQL store: engine set-up, the unit-of-work factory, health and housekeeping.

Construction is explicit (:func:`open_sql_store`); nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from . import _schema as s
from ._crypto import SecretBox
from ._dialects import Dialect
from ._incident_repos import OpenIncidentCache
from ._migrate import current_revision, head_revision, migrate, sync_database_url
from ._types import UtcDateTime
from ._uow import SqlUnitOfWork

__all__ = [
    "SchemaOutOfDate",
    "SqlReplayGuard",
    "SqlStore",
    "SqliteGroup",
    "WalSync",
    "ensure_sqlite_directory",
    "install_sqlite_hooks",
    "normalize_database_url",
    "open_sql_store",
]

# Expired delivery ids and replay-guard keys are deleted after this many new deliveries.
PURGE_EVERY = 1000
# How long SQLite itself waits for another process's lock (it blocks the thread meanwhile),
# and how long a unit of work keeps retrying BEGIN IMMEDIATE (without blocking the loop).
_SQLITE_BUSY_TIMEOUT_MS = 30_000
_SQLITE_RUNTIME_BUSY_TIMEOUT_MS = 20
SQLITE_LOCK_WAIT_SECONDS = 30.0
# Group commit (SQLite): at most this many units of work, or this long, per shared transaction.
GROUP_MAX_MEMBERS = 64
GROUP_MAX_SECONDS = 0.010
_GROUP_WATCHDOG_SECONDS = 0.25

# SQLite WAL checkpoints: at most one per this long, in the background; once the WAL holds
# this many frames (4 KiB each), one with this process's connection held, so that the WAL
# starts over. Each of those stalls every writer for a checkpoint and two syncs, so not too
# often: at 1000 frames a steady stream of single deliveries restarted the WAL about 15 times
# a second; 10,000 frames (a WAL of about 40 MiB) gave SQLite batches about 19 % more.
CHECKPOINT_SECONDS = 0.1
CHECKPOINT_RESTART_FRAMES = 10_000

logger = logging.getLogger("alertwhisperer.sql")


class SchemaOutOfDate(RuntimeError):
    """The database schema is not the one this code needs; run ``alertwhisperer db upgrade``."""


def normalize_database_url(url: str) -> str:
    """The async-driver form of a database URL.

    ``sqlite:///x`` → ``sqlite+aiosqlite:///x``; ``postgresql://…`` (or ``postgres://``,
    ``postgresql+psycopg2://``) → ``postgresql+psycopg://…``. Other schemes are refused.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    else:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite:///PATH or postgresql://…"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of an SQLite database file (``./var/`` on a fresh checkout)."""
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def install_sqlite_hooks(
    engine: Engine,
    *,
    busy_timeout_ms: int = _SQLITE_BUSY_TIMEOUT_MS,
    synchronous: str = "FULL",
) -> None:
    """WAL, busy timeout, foreign keys, durability, ``aw_lower``, ``BEGIN IMMEDIATE``.

    The driver's own transaction handling is switched off so the transaction starts with
    ``BEGIN IMMEDIATE``: the write lock is taken up front, so a writer never holds a read
    snapshot it cannot upgrade (SQLite's deadlock between two deferred writers).
    """

    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError("sqlite synchronous must be FULL or NORMAL")

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # FULL: a commit is on disk before it returns, so an accepted delivery survives a
        # power loss too (the 202 promises it). NORMAL skips that fsync (~10x cheaper commits
        # here) and only survives a crash of the process. (SqlStore keeps FULL's promise
        # with NORMAL on its own connection, syncing the WAL itself: see WalSync.)
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.close()
        dbapi_connection.create_function("aw_lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _install_postgres_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Instants come back as UTC datetimes without a per-value conversion.
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()


class SqliteGroup:
    """One SQLite transaction shared by consecutive units of work of this process.

    Each unit of work runs inside it under a savepoint (its rollback undoes only its own
    part); its commit releases the savepoint, hands the connection on and waits for ``done``:
    the group's one ``COMMIT`` and then the sync that makes it durable (:class:`WalSync`).
    While a sync is in flight the group stays open, so the units of work arriving meanwhile
    (which would wait for the next sync anyway) share one transaction, and write each page
    they share to the WAL once. It is committed when a member releases the connection with
    nobody queued for it and no sync in flight, or as soon as the sync in flight is done and
    nobody uses the connection, or when it is full or old. A failed ``COMMIT`` or sync fails
    every member.
    """

    __slots__ = ("done", "members", "opened_at", "ticket", "written")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.members = 0
        self.opened_at = time.monotonic()
        self.written: set[str] = set()  # tables its members wrote ("*": unknown)
        self.ticket = 0  # once committed, its WalSync ticket (0: none)


def _sync_function() -> Callable[[int], None]:
    # What SQLite itself calls on Linux: the data, and the file size needed to read it back.
    return getattr(os, "fdatasync", os.fsync)


class WalSync:
    """Durable SQLite commits without holding the connection during the fsync.

    The connection runs in WAL mode with ``synchronous = NORMAL``: a ``COMMIT`` appends the
    transaction's frames to the ``-wal`` file and returns without an fsync. Durability is
    provided here: an fsync of the WAL file that *starts after* a ``COMMIT`` returned makes
    that commit durable. It covers every frame and the WAL header written so far (by this
    process or another), and what has left the WAL is durable already: a checkpoint (with
    ``synchronous`` NORMAL or FULL, whichever connection runs it) syncs the WAL before it
    copies frames into the database file and syncs the database file before the WAL may be
    started over. The WAL file keeps its inode while this process's connection is open (a
    connection in WAL mode holds a shared lock on the database file, and only the last
    connection to close deletes the WAL), so the descriptor opened once here stays right.

    Each commit takes a *ticket* (:meth:`ticket`, on the event loop, right after ``COMMIT``
    returned) and waits (:meth:`wait`, :meth:`watch`) until a sync that started after the
    ticket was handed out is done. One sync runs at a time, on a thread of its own (fsync
    releases the GIL) while the event loop goes on, and covers every ticket handed out before
    it started: the commits made during a sync share the next one.

    A failed sync fails every commit waiting for it, and all later ones: after a failed
    fsync the kernel may have dropped the pages it could not write, so no later fsync can
    vouch for them, and SQLite's recovery stops at the first bad frame of a WAL. The store
    then refuses writes and ``/readyz`` reports it (restart the process: SQLite recovers from
    what is on disk). Tickets made durable before the failure stay durable.
    """

    def __init__(self, wal_path: str) -> None:
        self.path = wal_path
        # Never written here, no O_CREAT. SQLite puts no POSIX lock on the WAL (only on the
        # database file and -shm), so closing this descriptor cannot drop one of its locks.
        try:
            self.fd = os.open(wal_path, os.O_RDWR)
        except PermissionError:
            self.fd = os.open(wal_path, os.O_RDONLY)  # fsync needs no write access on Linux
        # Makes the file durable, on the sync thread; tests replace it.
        self.sync: Callable[[int], None] = _sync_function()
        self.issued = 0  # tickets handed out
        self.durable = 0  # every ticket up to this one is durable
        self.syncs = 0  # syncs done
        self.error: BaseException | None = None  # why nothing more can be promised durable
        # Called on the event loop after each sync, whether it succeeded or failed.
        self.after_sync: Callable[[], None] | None = None
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="aw-sqlite-sync")
        # What is committed already (another process's commit, or this one's before a crash,
        # may not be durable yet), and the WAL's directory entry (SQLite syncs it too, the
        # first time it syncs the file, which in NORMAL is the first checkpoint or restart).
        try:
            self.sync(self.fd)
            _sync_directory(os.path.dirname(wal_path) or ".")
        except BaseException:
            self.close()
            raise

    def ticket(self) -> int:
        """A ticket covering every commit that has returned until now."""
        self.issued += 1
        return self.issued

    def failure(self) -> Exception | None:
        """The error to raise instead of promising durability, once a sync has failed."""
        return None if self.error is None else _sync_failed(self.path, self.error)

    @property
    def syncing(self) -> bool:
        """Whether a sync is in flight (or about to start)."""
        return self._task is not None

    def watch(self, ticket: int, done: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        """``done`` (a new future if None), resolved once ``ticket`` is durable, or failed if
        the sync that was to make it durable (or an earlier one) failed."""
        loop = asyncio.get_running_loop()
        if done is None:
            done = loop.create_future()
        if ticket <= self.durable:
            done.set_result(None)
        elif self.error is not None:
            done.set_exception(_sync_failed(self.path, self.error))
            done.exception()  # retrieved: whoever watches may be gone
        else:
            self._waiting.append((ticket, done))
            if self._task is None:
                self._task = loop.create_task(self._run())
        return done

    async def wait(self, ticket: int) -> None:
        """Return once ``ticket`` is durable; raise if the sync that was to make it durable
        (or an earlier one) failed."""
        if ticket > self.durable:
            await self.watch(ticket)  # cancelled: the future is, and the syncer skips it

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                covers = self.issued  # every COMMIT behind these tickets has returned
                try:
                    await loop.run_in_executor(self._thread, self.sync, self.fd)
                except Exception as error:
                    self.error = error
                    waiting, self._waiting = self._waiting, []
                    for _, done in waiting:
                        if not done.done():
                            done.set_exception(_sync_failed(self.path, error))
                            done.exception()  # retrieved: whoever watches may be gone
                    if self.after_sync is not None:
                        self.after_sync()  # the store fails what gathered meanwhile
                    return
                self.syncs += 1
                self.durable = covers
                still = []
                for ticket, done in self._waiting:
                    if done.done():
                        continue
                    if ticket <= covers:
                        done.set_result(None)
                    else:
                        still.append((ticket, done))
                self._waiting = still
                if self.after_sync is not None:
                    self.after_sync()  # may commit more, for the next sync to cover
        finally:
            self._task = None
            # Cancelled (the loop is closing): nobody's commit can be vouched for any more.
            for _, done in self._waiting:
                done.cancel()
            self._waiting = []

    async def drain(self) -> None:
        """Wait until no sync is in flight (every waiter is answered)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    def close(self) -> None:
        self._thread.shutdown()
        os.close(self.fd)


def _sync_directory(path: str) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    except OSError:  # pragma: no cover - a file system that cannot sync directories
        pass
    finally:
        os.close(directory)


def _sync_failed(path: str, error: BaseException) -> Exception:
    import sqlite3

    cause = sqlite3.OperationalError(f"disk I/O error: syncing {path} failed: {error!r}")
    failure = DBAPIError.instance("COMMIT", None, cause, sqlite3.Error)
    failure.__cause__ = error
    return failure


class WalCheckpointer:
    """Checkpoints of an SQLite WAL on a connection and a thread of their own.

    The store's connection has ``wal_autocheckpoint`` off: SQLite's automatic checkpoint
    would run inside a ``COMMIT``, on the event loop, copying ~1000 pages and syncing twice
    (~20 ms here). ``PASSIVE`` checkpoints run here instead, beside the units of work."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self._connection: Any = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="aw-sqlite-checkpoint")

    async def checkpoint(self) -> tuple[int, int, int]:
        """``PRAGMA wal_checkpoint(PASSIVE)``: (busy, frames in the WAL, frames copied)."""
        loop = asyncio.get_running_loop()
        result: tuple[int, int, int] = await loop.run_in_executor(self._thread, self._passive)
        return result

    def _passive(self) -> tuple[int, int, int]:
        import sqlite3

        if self._connection is None:
            self._connection = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False
            )
            # Not OFF: the WAL is synced before frames are copied, the database file before
            # the WAL may start over (what WalSync relies on).
            self._connection.execute("PRAGMA synchronous = FULL")
        busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy, frames, copied

    def close(self) -> None:
        self._thread.shutdown()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _sqlite_wal_for(raw: Any) -> tuple[WalSync | None, WalCheckpointer | None]:
    """For ``raw`` (a sqlite3 connection) in WAL mode on a file: checkpoints in the
    background, and if it promises durable commits (``synchronous`` FULL or EXTRA), keep the
    promise with a :class:`WalSync` and switch the connection to ``NORMAL``. Otherwise
    (in-memory, no WAL) leave it as it is."""
    if raw.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        return None, None
    path = raw.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return None, None
    wal = None
    if raw.execute("PRAGMA synchronous").fetchone()[0] >= 2:
        # A WAL database's -wal file is created by its connections' first read.
        raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            wal = WalSync(path + "-wal")
        except OSError as error:
            logger.warning("cannot sync %s-wal (%r): each SQLite commit syncs in-line", path, error)
        else:
            raw.execute("PRAGMA synchronous = NORMAL")
    raw.execute("PRAGMA wal_autocheckpoint = 0")
    return wal, WalCheckpointer(path)


class SqlStore:
    """A :class:`~alertwhisperer_core.ports.UnitOfWorkFactory` over SQLite or PostgreSQL.

    ``store()`` opens a unit of work. One store per process; it owns the connections: a pool
    for PostgreSQL, the one connection of this process for SQLite.
    """

    def __init__(
        self, engine: AsyncEngine | Engine, *, secret_key: str | bytes | None = None
    ) -> None:
        self.engine = engine
        self.sa_dialect = engine.dialect
        self.dialect = Dialect(engine.dialect.name)
        # The driver's root error class, for reporting driver errors as SQLAlchemy's.
        self.dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self.secret_box = SecretBox(secret_key) if secret_key is not None else None
        self._sqlite_conn: Connection | None = None
        self.sqlite_connection: Any = None
        # SQLite has one writer at a time anyway: queue this process's units of work here
        # rather than in SQLite's busy handler, which polls with sleeps.
        self._sqlite_lock = asyncio.Lock()
        self._sqlite_queued = 0  # units of work waiting for (or just handed) the lock
        self.sqlite_lock_wait = SQLITE_LOCK_WAIT_SECONDS
        # Group commit (SQLite): the open transaction units of work share, if any.
        self.group: SqliteGroup | None = None
        self.group_max_members = GROUP_MAX_MEMBERS
        self.group_max_seconds = GROUP_MAX_SECONDS
        # SQLite, synchronous FULL: what makes commits durable (WalSync), and per table the
        # ticket of the last commit that wrote it (what a reader of the table waits for).
        self.wal: WalSync | None = None
        self._written_at: dict[str, int] = {}
        self._last_commit = 0
        self._foreign_at = 0  # a ticket covering the other connections' commits seen so far
        # SQLite WAL: background checkpoints (see _checkpoint).
        self.checkpointer: WalCheckpointer | None = None
        self.checkpoint_seconds = CHECKPOINT_SECONDS
        self.checkpoint_restart_frames = CHECKPOINT_RESTART_FRAMES
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointed_at = 0.0
        self._closing = False
        self._deliveries_since_purge = 0
        self._last_delivery_at: datetime | None = None
        # SQLite only: reads shared by units of work (see SqlUnitOfWork.read_cache).
        self.read_cache: dict[tuple[Any, ...], Any] = {}
        # SQLite only: stored open incidents per key, kept between units of work.
        self.open_incidents = OpenIncidentCache()
        self._data_version: int | None = None
        # The group whose write transaction the version was last checked in (see
        # check_data_version).
        self._version_group: SqliteGroup | None = None
        if isinstance(engine, Engine):
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._sqlite_conn = conn
            raw: Any = conn.connection.driver_connection
            self.sqlite_connection = raw
            raw.execute(f"PRAGMA busy_timeout = {_SQLITE_RUNTIME_BUSY_TIMEOUT_MS}")
            # Read before the WAL is first synced: what it has seen so far is durable then.
            self._data_version = self._sqlite_data_version()
            self.wal, self.checkpointer = _sqlite_wal_for(raw)
            if self.wal is not None:
                self.wal.after_sync = self._after_sync

    def _sqlite_data_version(self) -> int:
        version: int = self.sqlite_connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    def check_data_version(self) -> None:
        """:meth:`check_cache_version` with the connection's ``PRAGMA data_version`` now
        (call it while holding the connection). Once checked inside the open group's write
        transaction it is not asked again until that transaction ends: while this connection
        holds SQLite's write lock no other connection can commit."""
        group = self.group
        if group is not None and group is self._version_group:
            return
        self.check_cache_version(self._sqlite_data_version())
        if group is not None and self.sqlite_connection.in_transaction:
            self._version_group = group

    def check_cache_version(self, version: int) -> None:
        """Clear the shared caches (reads, open incidents) if another connection committed
        since last time (what it committed is durable once a sync that starts from now on
        is done)."""
        if version != self._data_version:
            self.read_cache.clear()
            self.open_incidents.clear()
            self._data_version = version
            if self.wal is not None:
                self._foreign_at = self.wal.ticket()

    def forget_table(self, table: str) -> None:
        for key in [k for k in self.read_cache if k[0] == table]:
            del self.read_cache[key]

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self)

    unit_of_work = __call__

    def async_engine(self) -> AsyncEngine:
        if not isinstance(self.engine, AsyncEngine):  # pragma: no cover - a wiring error
            raise TypeError("this store has no async engine")
        return self.engine

    async def acquire_sqlite(self) -> None:
        self._sqlite_queued += 1
        try:
            await self._sqlite_lock.acquire()
        finally:
            self._sqlite_queued -= 1

    def release_sqlite(self) -> None:
        """Hand this process's connection on; first commit the open group if nobody else is
        queued for the connection and no sync is in flight (during a sync the group stays
        open for the units of work arriving meanwhile), or if it is full or old enough."""
        group = self.group
        if group is not None and (
            (not self._sqlite_queued and (self.wal is None or not self.wal.syncing))
            or group.members >= self.group_max_members
            or time.monotonic() - group.opened_at >= self.group_max_seconds
        ):
            self.group = None
            self._commit_group(group)
        self._sqlite_lock.release()

    # --- group commit and durability (SQLite) -------------------------------------------------

    def open_group(self) -> SqliteGroup:
        """Start the shared transaction (the caller has just run ``BEGIN IMMEDIATE``)."""
        self.group = SqliteGroup(asyncio.get_running_loop().create_future())
        return self.group

    def _commit_group(self, group: SqliteGroup) -> None:
        """``COMMIT`` the group, on the event loop: no fsync (see :class:`WalSync`), so it
        only writes the group's pages to the WAL. Its members are told once a sync that
        started after it is done."""
        failure = self.durability_failure()
        if failure is not None:  # it could not be made durable: do not commit it at all
            self._abandon(group, failure)
            return
        try:
            self.sqlite_connection.execute("COMMIT")
        except self.dbapi_error as error:
            self._abandon(group, DBAPIError.instance("COMMIT", None, error, type(error)))
            return
        group.ticket = self._committed(group.written)
        if group.done.done():  # pragma: no cover - only a failed group is done early
            return
        if self.wal is None:
            group.done.set_result(None)
        else:
            self.wal.watch(group.ticket, group.done)

    def _committed(self, tables: Iterable[str]) -> int:
        """Note a ``COMMIT`` that has just returned, of a transaction that wrote ``tables``
        ("*": not known); the ticket to wait for before reporting it durable (0: none)."""
        self._maybe_checkpoint()
        if self.wal is None:
            return 0
        ticket = self._last_commit = self.wal.ticket()
        for table in tables:
            self._written_at[table] = ticket
        return ticket

    def _after_sync(self) -> None:
        """A sync is done: commit the group that gathered during it (or, if the sync failed,
        roll it back), unless a unit of work is using the connection (that one commits it as
        it releases the connection)."""
        group = self.group
        if group is not None and not self._sqlite_lock.locked():
            self.group = None
            self._commit_group(group)

    def fail_group(self, error: BaseException) -> None:
        """Roll the open group back: a member could not undo its own part."""
        if self.group is not None:
            self._abandon(self.group, error)

    def _abandon(self, group: SqliteGroup, error: BaseException) -> None:
        self.group = None
        raw = self.sqlite_connection
        if raw.in_transaction:
            with contextlib.suppress(self.dbapi_error):
                raw.execute("ROLLBACK")
        # Reads cached during the group may have seen its writes, which are gone now.
        self.read_cache.clear()
        self.open_incidents.clear()
        if not group.done.done():
            group.done.set_exception(error)
            group.done.exception()  # retrieved here too: a member may never await it

    async def await_group(self, group: SqliteGroup) -> None:
        """Return once ``group`` is committed and durable (raise if it was rolled back, or if
        the sync that was to make it durable failed).

        Normally the group is committed as a member releases the connection, or as the sync
        in flight ends. Should the task the connection was handed to be cancelled before
        using it, a member takes the connection itself after a short wait, which commits the
        group (or leaves it to the end of the sync in flight)."""
        while not group.done.done():
            try:
                await asyncio.wait_for(asyncio.shield(group.done), _GROUP_WATCHDOG_SECONDS)
            except TimeoutError:
                if self.group is group:
                    await self.acquire_sqlite()
                    self.release_sqlite()
        group.done.result()

    def read_ticket(self, tables: set[str]) -> int:
        """The ticket a unit of work that read ``tables`` (and no open group's writes) waits
        for before it answers: the last commit of this process that wrote one of them, and
        the commits of other connections it may have seen (0: nothing it read can still be
        lost). Call it while holding the connection, after the last read."""
        wal = self.wal
        if wal is None or not tables:
            return 0
        self.check_data_version()
        written = self._written_at
        if "*" in tables:
            need = self._last_commit
        else:
            need = max(written.get("*", 0), *(written.get(t, 0) for t in tables))
        need = max(need, self._foreign_at)
        return need if need > wal.durable else 0

    async def wait_durable(self, ticket: int) -> None:
        """Return once ``ticket`` is durable (see :class:`WalSync`)."""
        if ticket and self.wal is not None:
            await self.wal.wait(ticket)

    def durability_failure(self) -> Exception | None:
        """Why no commit can be promised durable any more (a sync of the WAL failed)."""
        return None if self.wal is None else self.wal.failure()

    # --- checkpoints (SQLite WAL) -------------------------------------------------------------

    def _maybe_checkpoint(self) -> None:
        if (
            self.checkpointer is None
            or self._checkpointing is not None
            or self._closing
            or time.monotonic() - self._checkpointed_at < self.checkpoint_seconds
        ):
            return
        self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        """A ``PASSIVE`` checkpoint beside the units of work (at most one per
        ``checkpoint_seconds``, after a commit). Under steady writes it never catches up
        with them, and the WAL only starts over when a write transaction begins with every
        frame copied; so once the WAL holds ``checkpoint_restart_frames``, one more
        checkpoint runs with this process's connection held (the event loop goes on), after
        committing the open group if any: it copies the frames written meanwhile, and the
        next write transaction starts the WAL over."""
        assert self.checkpointer is not None
        try:
            busy, frames, _ = await self.checkpointer.checkpoint()
            if frames >= self.checkpoint_restart_frames and not busy:
                await self.acquire_sqlite()
                try:
                    group, self.group = self.group, None
                    if group is not None:
                        self._commit_group(group)
                    await self.checkpointer.checkpoint()
                finally:
                    self.release_sqlite()
        except Exception as error:  # housekeeping: tried again after the next commit
            logger.warning("SQLite checkpoint failed: %r", error)
        finally:
            self._checkpointed_at = time.monotonic()
            self._checkpointing = None

    def replay_guard(self) -> SqlReplayGuard:
        """A replay guard in this database (for several processes without Redis)."""
        return SqlReplayGuard(self)

    async def ping(self) -> bool:
        """True when the database answers (for ``/readyz``)."""
        try:
            if isinstance(self.engine, AsyncEngine):
                async with self.engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")
            else:
                if self.durability_failure() is not None:
                    return False  # it can no longer keep its promise: restart it
                await self.acquire_sqlite()
                try:
                    self.sqlite_connection.execute("SELECT 1").fetchall()
                finally:
                    self._sqlite_lock.release()
        except Exception:
            return False
        return True

    async def close(self) -> None:
        """Close every connection."""
        if isinstance(self.engine, AsyncEngine):
            await self.engine.dispose()
            return
        self._closing = True  # no more checkpoints
        if self._checkpointing is not None:
            await self._checkpointing
        # Waits for the unit of work using the connection, commits a group left open (its
        # next unit of work was cancelled before it used the connection), and waits for the
        # syncs in flight (which commit the group gathered meanwhile).
        await self.acquire_sqlite()
        self.release_sqlite()
        if self.wal is not None:
            await self.wal.drain()
        if self.checkpointer is not None:
            self.checkpointer.close()
        if self._sqlite_conn is not None:
            self._sqlite_conn.close()
            self._sqlite_conn = None
        self.engine.dispose()
        if self.wal is not None:
            self.wal.close()  # after the connection: nothing writes the WAL any more

    async def note_deliveries(self, count: int, latest: datetime) -> None:
        """Count committed deliveries; every :data:`PURGE_EVERY`, purge what has expired."""
        self._deliveries_since_purge += count
        if self._last_delivery_at is None or latest > self._last_delivery_at:
            self._last_delivery_at = latest
        if self._deliveries_since_purge < PURGE_EVERY:
            return
        self._deliveries_since_purge = 0
        await self.purge_expired(self._last_delivery_at)

    async def purge_expired(self, now: datetime) -> int:
        """Delete delivery ids and replay-guard keys expired at ``now``; return how many."""
        purged = 0
        async with self() as uow:
            for table in (s.deliveries, s.replay_guard):
                stmt = delete(table).where(table.c.expires_at <= _at(now))
                purged += (await uow.execute(stmt)).rowcount
            await uow.commit()
        return purged


def _at(value: datetime) -> Any:
    from sqlalchemy import literal

    return literal(value, UtcDateTime())


class SqlReplayGuard:
    """:class:`~alertwhisperer_core.ports.ReplayGuard` in the database, shared by processes."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        async with self._store() as uow:
            if expires_at <= now:
                found = await uow.execute(
                    s.replay_guard.select().where(
                        s.replay_guard.c.key == key, s.replay_guard.c.expires_at > _at(now)
                    )
                )
                return found.first() is None
            params = {"key": key, "expires_at": expires_at, "now": now}
            claimed = await uow.rows(self._store.dialect.claim_replay, params)
            await uow.commit()
            return bool(claimed)

    async def forget(self, key: str) -> None:
        async with self._store() as uow:
            await uow.execute(delete(s.replay_guard).where(s.replay_guard.c.key == key))
            await uow.commit()


async def open_sql_store(
    url: str,
    *,
    upgrade: bool = True,
    secret_key: str | bytes | None = None,
    pool_size: int = 10,
    sqlite_synchronous: str = "FULL",
) -> SqlStore:
    """Open the SQL store at ``url`` (any form :func:`normalize_database_url` accepts).

    Creates the directory of an SQLite file. With ``upgrade`` an empty database is migrated
    to the newest schema; a database at another revision raises :class:`SchemaOutOfDate`
    (schema changes of a shared database are the operator's ``alertwhisperer db upgrade``).
    ``secret_key`` encrypts webhook HMAC secrets at rest; without it, storing one is refused.
    ``sqlite_synchronous``: ``FULL`` (default) makes every commit durable before it returns
    (the store syncs the WAL itself, beside the next units of work: :class:`WalSync`);
    ``NORMAL`` answers without waiting for any sync, and trades the last commits before a
    power loss for that.

    SQLite statements run in-line on the event loop's thread through the standard library
    driver: a local SQLite statement takes microseconds, while aiosqlite's hand-off to its
    thread and back costs several times that per statement (see ``docs/persistence.md``).
    """
    async_url = normalize_database_url(url)
    ensure_sqlite_directory(async_url)
    backend = make_url(async_url).get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite" and _sqlite_path(async_url) is None:
        # One shared connection: every new connection to :memory: is a new, empty database.
        options["poolclass"] = StaticPool
    elif backend == "sqlite":
        # Units of work run one at a time (the store's write lock); one connection is enough.
        options.update(pool_size=1, max_overflow=0)
    else:
        options.update(pool_size=pool_size, max_overflow=pool_size)
    if backend == "sqlite":
        # The store's lock, not the thread, guards its one connection: a composition root may
        # open the store on one thread and serve from another.
        options["connect_args"] = {"check_same_thread": False}
        engine = create_engine(sync_database_url(async_url), **options)
        install_sqlite_hooks(engine, synchronous=sqlite_synchronous)
        try:
            with engine.connect() as sync_conn:
                _check_schema(sync_conn, upgrade)
            return SqlStore(engine, secret_key=secret_key)
        except BaseException:
            engine.dispose()
            raise
    # Transactions are begun and ended explicitly by the unit of work (see _uow).
    async_engine = create_async_engine(async_url, isolation_level="AUTOCOMMIT", **options)
    _install_postgres_hooks(async_engine.sync_engine)
    try:
        async with async_engine.connect() as conn:
            migrating = await conn.execution_options(isolation_level="READ COMMITTED")
            await migrating.run_sync(_check_schema, upgrade)
    except BaseException:
        await async_engine.dispose()
        raise
    return SqlStore(async_engine, secret_key=secret_key)


def _check_schema(connection: Any, upgrade: bool) -> None:
    if upgrade:
        migrate(connection, only_if_empty=True)
    current = current_revision(connection)
    connection.commit()
    head = head_revision()
    if current != head:
        found = "an empty database" if current is None else f"schema revision {current}"
        raise SchemaOutOfDate(
            f"the database has {found} but this version needs {head}: "
            "run `alertwhisperer db upgrade`"
        )
