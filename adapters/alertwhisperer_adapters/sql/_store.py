"""The SQL store: engine set-up, the unit-of-work factory, health and housekeeping.

Construction is explicit (:func:`open_sql_store`); nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
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
        # here) and only survives a crash of the process.
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
    part); its commit releases the savepoint and then waits for ``done``: the group's one
    ``COMMIT`` (one fsync for all of them), made when the connection is released with no
    other unit of work queued for it. A failed ``COMMIT`` fails every member.
    """

    __slots__ = ("done", "members", "opened_at", "written")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.members = 0
        self.opened_at = time.monotonic()
        self.written: set[str] = set()  # tables its members wrote ("*": unknown)


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
        self._commits: set[asyncio.Task[None]] = set()
        # SQLite releases the GIL while it waits for the disk: commits run on this thread.
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="aw-sqlite-commit")
        if isinstance(engine, Engine):
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._sqlite_conn = conn
            self.sqlite_connection = conn.connection.driver_connection
            self.sqlite_connection.execute(
                f"PRAGMA busy_timeout = {_SQLITE_RUNTIME_BUSY_TIMEOUT_MS}"
            )
        self._deliveries_since_purge = 0
        self._last_delivery_at: datetime | None = None
        # SQLite only: reads shared by units of work (see SqlUnitOfWork.read_cache).
        self.read_cache: dict[tuple[Any, ...], Any] = {}
        # SQLite only: stored open incidents per key, kept between units of work.
        self.open_incidents = OpenIncidentCache()
        self._data_version: int | None = None

    def check_cache_version(self, version: int) -> None:
        """Clear the shared read cache if another connection committed since last time."""
        if version != self._data_version:
            self.read_cache.clear()
            self._data_version = version

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
        """Hand this process's connection on, or commit the open group when nobody else is
        queued for it (or it is full or old enough): the commit keeps the connection until
        it is done, while the units of work arriving meanwhile queue up for the next group."""
        group = self.group
        if group is not None and (
            not self._sqlite_queued
            or group.members >= self.group_max_members
            or time.monotonic() - group.opened_at >= self.group_max_seconds
        ):
            self.group = None
            task = asyncio.get_running_loop().create_task(self._commit_group(group))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
            return
        self._sqlite_lock.release()

    # --- group commit (SQLite) ----------------------------------------------------------------

    def open_group(self) -> SqliteGroup:
        """Start the shared transaction (the caller has just run ``BEGIN IMMEDIATE``)."""
        self.group = SqliteGroup(asyncio.get_running_loop().create_future())
        return self.group

    async def _commit_group(self, group: SqliteGroup) -> None:
        """``COMMIT`` the group on the commit thread (the event loop goes on meanwhile: the
        fsync is where time goes), tell its members, then release the connection."""
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._committer, self.sqlite_connection.execute, "COMMIT")
        except self.dbapi_error as error:
            self._abandon(group, DBAPIError.instance("COMMIT", None, error, type(error)))
        except BaseException as error:  # cancelled (the loop is closing): outcome unknown
            if not group.done.done():
                group.done.set_exception(error)
                group.done.exception()
            raise
        else:
            if not group.done.done():
                group.done.set_result(None)
        finally:
            self._sqlite_lock.release()

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
        """Return once ``group`` is committed (raise if it was rolled back).

        Normally the last unit of work of the group commits it as it releases the connection.
        Should the task the connection was handed to be cancelled before using it, a member
        takes the connection itself after a short wait, which commits the group."""
        while not group.done.done():
            try:
                await asyncio.wait_for(asyncio.shield(group.done), _GROUP_WATCHDOG_SECONDS)
            except TimeoutError:
                if self.group is group:
                    await self.acquire_sqlite()
                    self.release_sqlite()
        group.done.result()

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
        # Waits for a commit in flight, and commits a group left open (its next unit of work
        # was cancelled before it used the connection).
        await self.acquire_sqlite()
        self.release_sqlite()
        await self.acquire_sqlite()
        self._sqlite_lock.release()
        self._committer.shutdown()
        if self._sqlite_conn is not None:
            self._sqlite_conn.close()
            self._sqlite_conn = None
        self.engine.dispose()

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
    ``sqlite_synchronous``: ``FULL`` (default) makes every commit durable before it returns;
    ``NORMAL`` trades the last commits before a power loss for cheaper commits.

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
