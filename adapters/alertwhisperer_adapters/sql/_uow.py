"""One database transaction behind the core's :class:`~alertwhisperer_core.ports.UnitOfWork`.

Statements are SQLAlchemy Core, compiled once per dialect (:mod:`._fast`) and run through the
driver's own connection; the transaction is driven here, explicitly:

- It begins at the first write or key lock, not before: reads before that run outside a
  transaction, which under READ COMMITTED (PostgreSQL) and WAL (SQLite) sees exactly what a
  read inside one would, and saves a read-only unit of work its BEGIN and ROLLBACK.
- SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock up front, so two writers never
  both hold a read snapshot and then deadlock upgrading it. The store's in-process lock
  serializes this process's units of work (one connection, no polling on ``busy_timeout``);
  other processes wait on ``busy_timeout``. Group commit: units of work queued behind each
  other share one transaction (:class:`~._store.SqliteGroup`), each under a savepoint, and
  one ``COMMIT`` commits them all. ``COMMIT`` writes to the WAL without an fsync and hands
  the connection on at once; each member's :meth:`commit` then waits until a sync of the WAL
  that started after the ``COMMIT`` is done (:class:`~._store.WalSync`: one sync covers
  every commit made before it started). A unit of work that read what is not durable yet (an
  open group's writes, or a commit's whose sync is not done) waits for it the same way.
- PostgreSQL: ``READ COMMITTED`` plus transaction-scoped advisory locks per (company, key),
  taken by :meth:`IncidentRepository.lock_key`, serialize correlation of one key. A lock is
  taken by the next read of the key's incidents itself (one round trip for both), or before
  any other statement, so it is always held before anything that depends on it runs.
- Writes nothing reads back before the end of the unit of work (new alerts, incident upserts,
  audit entries) are buffered and sent as one ``executemany`` per table before the next read
  of that table, or at commit: a 100-alert batch is a handful of statements, not hundreds.
- Leaving the block without :meth:`commit` rolls back. Nothing is written outside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from alertwhisperer_core import Incident
from alertwhisperer_core.ports import TransientConflict

from ._auth import SqlLoginAttempts, SqlTokens
from ._chat import SqlChat
from ._compliance import SqlCompliance
from ._executions import SqlExecutions
from ._fast import Compiled, Prepared
from ._mapping import incident_changes, incident_row
from ._notifications import SqlNotifications
from ._repositories import (
    SqlAlerts,
    SqlApprovals,
    SqlAssets,
    SqlAudit,
    SqlCompanies,
    SqlDeliveries,
    SqlIncidents,
    SqlRunbooks,
    SqlUsers,
)

if TYPE_CHECKING:
    from ._store import SqliteGroup, SqlStore

__all__ = ["DatabaseUnavailable", "Result", "SqlUnitOfWork", "translate"]


class Result:
    """The rows of one statement (fetched at once) and how many rows it changed."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Sequence[Any]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[Sequence[Any]]:
        return self._rows

    def first(self) -> Sequence[Any] | None:
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        (row,) = self._rows
        return row[0]


# PostgreSQL's "lost a race, try again": deadlock detected, serialization failure.
_RETRYABLE = frozenset({"40P01", "40001"})
# PostgreSQL's "no connection": connection exceptions, shut down by an administrator or a
# crash, starting up. psycopg reports a connection it lost or could not open without a state.
_DISCONNECTED = ("08", "57P01", "57P02", "57P03")


class DatabaseUnavailable(TransientConflict):
    """PostgreSQL cannot be reached (down, restarting, or the connection dropped).

    The unit of work is abandoned and its connection discarded; nothing it wrote is committed
    (a connection lost during ``COMMIT`` is the one ambiguous case: the retry's duplicate check
    answers it). As a :class:`TransientConflict` the use case tries again on a new connection,
    and the server answers 503 with ``Retry-After`` when the database stays away."""


def _disconnected(error: BaseException | None) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installation
        return False
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    return state is None or state.startswith(_DISCONNECTED)


def translate(error: Exception, sql: str, params: Any) -> Exception:
    """The error to raise for a driver error: :class:`TransientConflict` for a lost race
    (the use case retries the unit of work), :class:`DatabaseUnavailable` for a lost
    connection, else SQLAlchemy's wrapping of it (``IntegrityError``, ``OperationalError``,
    … whatever the driver; ``.orig`` keeps it)."""
    if getattr(error, "sqlstate", None) in _RETRYABLE:
        return TransientConflict(str(error))
    if _disconnected(error):
        return DatabaseUnavailable(str(error))
    return DBAPIError.instance(sql, params, error, type(error))


@contextmanager
def _driver_errors(dbapi_error: type[Exception], sql: str, params: Any) -> Iterator[None]:
    try:
        yield
    except dbapi_error as error:
        raise translate(error, sql, params) from error


_REPOSITORIES: dict[str, Any] = {
    "companies": SqlCompanies,
    "assets": SqlAssets,
    "alerts": SqlAlerts,
    "deliveries": SqlDeliveries,
    "users": SqlUsers,
    "runbooks": SqlRunbooks,
    "approvals": SqlApprovals,
    "executions": SqlExecutions,
    "compliance": SqlCompliance,
    "audit": SqlAudit,
    "tokens": SqlTokens,
    "login_attempts": SqlLoginAttempts,
    "notifications": SqlNotifications,
    "chat": SqlChat,
}


class SqlUnitOfWork:
    """A transaction over every repository; use as ``async with store() as uow``."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.dialect = store.dialect
        self._sqlite = store.dialect.is_sqlite
        self._sa_conn: AsyncConnection | None = None
        self._raw: Any = None  # sqlite3.Connection or psycopg.AsyncConnection
        self._in_tx = False
        # PostgreSQL: BEGIN is sent with the transaction's first statement (one round trip).
        self._begin_pending = False
        # SQLite: the shared transaction this unit of work wrote into or read from, whose
        # COMMIT it waits for before reporting success.
        self._group: SqliteGroup | None = None
        self._member = False  # it wrote into that group (else it may only have read from it)
        # The tables read since the last commit ("*": not known).
        self._read_tables: set[str] = set()
        self.locked_keys: set[int] = set()
        # PostgreSQL key locks not sent yet: the next read of that key takes the lock itself
        # (aw_lock_open_incidents); any other statement first sends them, in order.
        self._pending_locks: dict[int, None] = {}
        self._pending_alerts: list[dict[str, Any]] = []
        # Latest version per incident id; a dict keeps first-write order, which is insertion
        # order.
        self._pending_incidents: dict[str, Incident] = {}
        # Per pending incident, the version the database holds (None: not known); and the
        # versions this transaction flushed, which the database now holds.
        self._incident_bases: dict[str, Incident | None] = {}
        self._flushed_incidents: dict[str, Incident] = {}
        self._pending_audit: list[dict[str, Any]] = []
        self._deliveries_pending = 0
        self._deliveries_committed = 0
        self._latest_delivery: datetime | None = None
        # Reads remembered for this transaction: (table, ...) → rows (see _Repo._memo).
        self.memo: dict[tuple[Any, ...], Any] = {}
        self._dirty: set[str] = set()
        self._version_checked = False
        # The incidents repository keeps per-transaction state; the others are built on first
        # use (a delivery's two units of work use a few of the fifteen).
        self.incidents = SqlIncidents(self)

    # --- repositories, built on first use ---------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: a repository is built at its first use and
        # kept (functools.cached_property would take a lock on every first access on 3.11).
        factory = _REPOSITORIES.get(name)
        if factory is None:
            raise AttributeError(name)
        repository = self.__dict__[name] = factory(self)
        return repository

    if TYPE_CHECKING:
        companies: SqlCompanies
        assets: SqlAssets
        alerts: SqlAlerts
        deliveries: SqlDeliveries
        users: SqlUsers
        runbooks: SqlRunbooks
        approvals: SqlApprovals
        executions: SqlExecutions
        compliance: SqlCompliance
        audit: SqlAudit
        tokens: SqlTokens
        login_attempts: SqlLoginAttempts
        notifications: SqlNotifications
        chat: SqlChat

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Cancelled mid-statement, or the connection is lost: the connection goes, not back
        # to the pool (a lost one would fail the next unit of work too).
        broken = isinstance(exc, asyncio.CancelledError | DatabaseUnavailable)
        durable_at = 0
        try:
            await self.rollback()
            if exc is None and self._sqlite and self._raw is not None:
                durable_at = self.store.read_ticket(self._read_tables)
        except DatabaseUnavailable:
            # Nothing to roll back on a lost connection: the server already did.
            broken = True
            if exc is None:
                raise
        finally:
            await self._release(broken=broken)
        group, self._group = self._group, None
        if group is not None and exc is None and self._saw_writes_of(group):
            # It read writes of others not committed yet: answer only once they are durable.
            await self.store.await_group(group)
        elif durable_at:
            # It read what commits not yet durable wrote: answer only once they are.
            await self.store.wait_durable(durable_at)
        if self._deliveries_committed and self._latest_delivery is not None:
            await self.store.note_deliveries(self._deliveries_committed, self._latest_delivery)

    # --- the connection ---------------------------------------------------------------------

    async def _connect(self) -> Any:
        if self._raw is None:
            if self._sqlite:
                await self.store.acquire_sqlite()
                raw = self._raw = self.store.sqlite_connection
                self._group = self.store.group
                if raw.in_transaction and self._group is None:
                    # Left open by a unit of work whose rollback failed: start clean.
                    raw.execute("ROLLBACK")
                    self.store.open_incidents.clear()
            else:
                try:
                    conn = await self.store.async_engine().connect()
                except DBAPIError as error:
                    if _disconnected(error.orig):
                        raise DatabaseUnavailable(str(error.orig)) from error
                    raise
                self._sa_conn = conn
                try:
                    self._raw = (await conn.get_raw_connection()).driver_connection
                except BaseException:
                    await self._release()
                    raise
        return self._raw

    async def _release(self, *, broken: bool = False) -> None:
        raw, conn = self._raw, self._sa_conn
        self._raw, self._sa_conn = None, None
        if conn is not None:
            if broken:
                # Cancelled mid-statement: the connection's state is unknown, so drop it.
                await conn.invalidate()
            await conn.close()
        elif raw is not None and self._sqlite:
            self.store.release_sqlite()

    async def _begin(self) -> None:
        raw = await self._connect()
        if self._sqlite:
            failure = self.store.durability_failure()
            if failure is not None:
                raise failure  # nothing it wrote could be promised durable
            group = self.store.group
            if group is None:
                await self._begin_immediate(raw)
                group = self.store.open_group()
            with self._errors("SAVEPOINT aw_uow"):
                raw.execute("SAVEPOINT aw_uow")
            group.members += 1
            self._group = group
            self._member = True
        else:
            self._begin_pending = True
        self._in_tx = True

    async def _pg_run(self, sql: str, params: Any, *, fetch: bool) -> Result:
        """One PostgreSQL statement; a BEGIN not sent yet goes in the same round trip."""
        raw = self._raw
        if self._begin_pending:
            self._begin_pending = False
            async with raw.pipeline():
                await raw.execute("BEGIN")
                cursor = await raw.execute(sql, params)
        else:
            cursor = await raw.execute(sql, params)
        return Result(await cursor.fetchall() if fetch else [], cursor.rowcount)

    async def _begin_immediate(self, raw: Any) -> None:
        """``BEGIN IMMEDIATE``, waiting for another process's write lock without blocking the
        event loop: SQLite's own wait (``busy_timeout``) is kept short, and retried here."""
        waited = 0.0
        delay = 0.002
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except self.store.dbapi_error as error:
                busy = "locked" in str(error) or "busy" in str(error)
                if not busy or waited >= self.store.sqlite_lock_wait:
                    raise DBAPIError.instance(
                        "BEGIN IMMEDIATE", None, error, type(error)
                    ) from error
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.1)

    def _saw_writes_of(self, group: SqliteGroup) -> bool:
        """Whether this unit of work wrote into ``group``, or read a table some member of it
        wrote (so what it read is not durable until the group is)."""
        if self._member or "*" in group.written:
            return True
        return bool(self._read_tables & group.written) or "*" in self._read_tables

    def _errors(self, sql: str, params: Any = None) -> Any:
        return _driver_errors(self.store.dbapi_error, sql, params)

    # --- statements ---------------------------------------------------------------------------

    def _compiled(self, statement: Prepared | Executable) -> Compiled:
        dialect = self.store.sa_dialect
        if isinstance(statement, Prepared):
            return statement.compiled(dialect)
        return Compiled(statement, dialect)

    async def execute(
        self,
        statement: Prepared | Executable,
        params: Mapping[str, Any] | None = None,
        *,
        takes_lock: bool = False,
    ) -> Result:
        """Run one statement (compiled here unless prepared); its rows, fetched.

        Pending key locks are sent first, unless the statement ``takes_lock`` itself (then
        the locks requested after its own stay pending until the next statement, so locks
        are always taken in the order they were requested)."""
        compiled = self._compiled(statement)
        if not compiled.reads and not self._in_tx:
            await self._begin()
        if self._pending_locks and not takes_lock:
            await self._send_locks()
        raw = self._raw if self._raw is not None else await self._connect()
        driver_params = compiled.params(params or {})
        try:
            if self._sqlite:
                if compiled.reads:
                    self._read_tables |= compiled.tables
                elif self._group is not None:
                    self._group.written |= compiled.tables
                cursor = raw.execute(compiled.sql, driver_params)
                if cursor.description:  # cheap in sqlite3, and right for PRAGMA too
                    return Result([compiled.row(r) for r in cursor.fetchall()], cursor.rowcount)
                return Result([], cursor.rowcount)
            return await self._pg_run(compiled.sql, driver_params, fetch=compiled.returns_rows)
        except self.store.dbapi_error as error:
            raise translate(error, compiled.sql, driver_params) from error

    async def rows(
        self,
        statement: Prepared | Executable,
        params: Mapping[str, Any] | None = None,
        *,
        takes_lock: bool = False,
    ) -> list[Sequence[Any]]:
        """The rows of one statement (empty for one without a result)."""
        return (await self.execute(statement, params, takes_lock=takes_lock)).all()

    async def run_many(self, prepared: Prepared, params: Sequence[Mapping[str, Any]]) -> int:
        """Run a prepared write once per parameter set (an ``executemany``); the number of
        rows it changed."""
        if not params:
            return 0
        if not self._in_tx:
            await self._begin()
        if self._pending_locks:
            await self._send_locks()
        compiled = prepared.compiled(self.store.sa_dialect)
        batch = [compiled.params(p) for p in params]
        with self._errors(compiled.sql, batch):
            if self._sqlite:
                if self._group is not None:
                    self._group.written |= compiled.tables
                changed: int = self._raw.executemany(compiled.sql, batch).rowcount
                return changed
            if self._begin_pending:
                self._begin_pending = False
                async with self._raw.pipeline(), self._raw.cursor() as cursor:
                    await self._raw.execute("BEGIN")
                    await cursor.executemany(compiled.sql, batch)
                return int(cursor.rowcount)
            async with self._raw.cursor() as cursor:
                await cursor.executemany(compiled.sql, batch)
                return int(cursor.rowcount)

    # --- key locks ---------------------------------------------------------------------------

    async def lock_key(self, lock_id: int) -> None:
        """Hold the advisory lock ``lock_id`` until the transaction ends (PostgreSQL).

        The lock is taken before the next statement runs, and by the next read of the key's
        incidents itself when that comes first. SQLite has one writer at a time: beginning the
        transaction (``BEGIN IMMEDIATE``) already holds the whole database's write lock.
        """
        if lock_id in self.locked_keys:
            return
        if not self._in_tx:
            await self._begin()
        self.locked_keys.add(lock_id)
        if not self._sqlite:
            self._pending_locks[lock_id] = None

    async def take_pending_lock(self, lock_id: int) -> bool:
        """Claim ``lock_id`` for a statement that takes the lock itself (the caller runs it
        next): the locks requested before it are sent first, the ones requested after it stay
        pending, so locks are always taken in the order they were requested."""
        if lock_id not in self._pending_locks:
            return False
        for earlier in list(self._pending_locks):
            if earlier == lock_id:
                break
            del self._pending_locks[earlier]
            await self._lock_now(earlier)
        del self._pending_locks[lock_id]
        return True

    async def _send_locks(self) -> None:
        """Take the pending key locks, in the order requested, in one round trip (a batch
        of a hundred keys would otherwise wait for a hundred)."""
        locks = list(self._pending_locks)
        self._pending_locks.clear()
        if len(locks) <= 1:
            for lock_id in locks:
                await self._lock_now(lock_id)
            return
        raw = self._raw
        with self._errors(self.dialect.lock_key.compiled(self.store.sa_dialect).sql, locks):
            async with raw.pipeline():
                await self._queue_begin_and_locks(raw, locks)

    async def _queue_begin_and_locks(self, raw: Any, locks: Sequence[int]) -> None:
        """Inside a pipeline: the ``BEGIN`` not sent yet, then ``locks`` in order."""
        if self._begin_pending:
            self._begin_pending = False
            await raw.execute("BEGIN")
        sql = self.dialect.lock_key.compiled(self.store.sa_dialect).sql
        for lock_id in locks:
            await raw.execute(sql, {"lock_id": lock_id})

    async def _lock_now(self, lock_id: int) -> None:
        compiled = self.dialect.lock_key.compiled(self.store.sa_dialect)
        params = {"lock_id": lock_id}
        with self._errors(compiled.sql, params):
            await self._pg_run(compiled.sql, params, fetch=False)

    def holds_key(self, lock_id: int) -> bool:
        """Whether reads of this key are stable for the rest of the transaction."""
        if self._sqlite:
            return self._in_tx
        return lock_id in self.locked_keys

    # --- buffered writes ----------------------------------------------------------------------

    def buffer_alert(self, row: dict[str, Any]) -> None:
        self._pending_alerts.append(row)

    def buffer_incident(self, incident: Incident, stored: Incident | None = None) -> None:
        """Write ``incident`` at the next flush. ``stored``: the incident as the database
        holds it (None: not known), so that the flush writes only the columns that changed."""
        if incident.id not in self._pending_incidents:
            self._incident_bases[incident.id] = self._flushed_incidents.get(incident.id, stored)
        self._pending_incidents[incident.id] = incident

    def _incident_writes(self) -> list[tuple[Prepared, list[dict[str, Any]]]]:
        """The pending incident writes as statements: an upsert of every column where the
        stored row is not known (new incidents), else an update of the changed columns only,
        one statement per set of columns."""
        pending, self._pending_incidents = self._pending_incidents, {}
        bases, self._incident_bases = self._incident_bases, {}
        upserts: list[dict[str, Any]] = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for incident_id, incident in pending.items():
            base = bases.get(incident_id)
            if base is None:
                upserts.append(incident_row(incident))
                continue
            columns, params = incident_changes(incident, base)
            if columns:
                updates.setdefault(columns, []).append(params)
        self._flushed_incidents.update(pending)
        writes = [(self.dialect.upsert_incident, upserts)] if upserts else []
        writes += [(self.dialect.update_incident(c), rows) for c, rows in updates.items()]
        return writes

    def buffer_audit(self, row: dict[str, Any]) -> None:
        self._pending_audit.append(row)

    async def flush_alerts(self) -> None:
        if self._pending_alerts:
            rows, self._pending_alerts = self._pending_alerts, []
            await self.run_many(self.dialect.insert_alert, rows)

    async def flush_incidents(self) -> None:
        for prepared, rows in self._incident_writes():
            changed = await self.run_many(prepared, rows)
            updated = prepared is not self.dialect.upsert_incident
            if self._sqlite and updated and changed != len(rows):
                # An update computed against a stored row the database does not hold: never
                # lose it silently (the unit of work fails and nothing is committed).
                raise RuntimeError(f"incident update matched {changed} of {len(rows)} rows")

    async def flush_audit(self) -> None:
        if self._pending_audit:
            rows, self._pending_audit = self._pending_audit, []
            await self.run_many(self.dialect.insert_audit, rows)

    async def flush(self) -> None:
        await self.flush_incidents()
        await self.flush_alerts()
        await self.flush_audit()

    # --- the transaction -----------------------------------------------------------------------

    def note_delivery(self, at: datetime) -> None:
        """Count a delivery id recorded at ``at`` (for the opportunistic purge)."""
        self._deliveries_pending += 1
        if self._latest_delivery is None or at > self._latest_delivery:
            self._latest_delivery = at

    async def _pg_commit(self) -> None:
        """PostgreSQL: the buffered writes and COMMIT in one round trip (a pipeline: the
        first failing statement aborts the rest, COMMIT included)."""
        writes = self._incident_writes()
        if self._pending_alerts:
            writes.append((self.dialect.insert_alert, self._pending_alerts))
        if self._pending_audit:
            writes.append((self.dialect.insert_audit, self._pending_audit))
        self._pending_alerts, self._pending_audit = [], []
        locks = list(self._pending_locks)
        self._pending_locks.clear()
        if self._begin_pending and not writes:
            # Nothing was sent: the server never saw this transaction (locks taken by no
            # statement protect nothing).
            self._begin_pending = False
            return
        raw = self._raw
        with self._errors("COMMIT"):
            async with raw.pipeline(), raw.cursor() as cursor:
                await self._queue_begin_and_locks(raw, locks)
                for prepared, rows in writes:
                    compiled = prepared.compiled(self.store.sa_dialect)
                    await cursor.executemany(compiled.sql, [compiled.params(r) for r in rows])
                await raw.execute("COMMIT")

    async def commit(self) -> None:
        """Make everything written so far durable, atomically."""
        if not self._sqlite and self._in_tx:
            await self._pg_commit()
            self._in_tx = False
        await self.flush()
        if self._pending_locks:
            await self._send_locks()
        if self._in_tx:
            if self._sqlite:
                with self._errors("RELEASE SAVEPOINT aw_uow"):
                    self._raw.execute("RELEASE SAVEPOINT aw_uow")
                # Still holding the connection: the next unit of work sees the cache updated.
                self.incidents.committed()
            else:
                with self._errors("COMMIT"):
                    await self._raw.execute("COMMIT")
            self._in_tx = False
        self._after_transaction()
        group, self._group = self._group, None
        if group is not None:
            # Hand the connection on (the last of the group commits it), then wait until
            # what this unit of work wrote or read is durable.
            await self._release()
            if self._saw_writes_of(group):
                await self.store.await_group(group)
        self._member = False
        self._read_tables.clear()
        self._deliveries_committed += self._deliveries_pending
        self._deliveries_pending = 0

    async def rollback(self) -> None:
        """Forget everything written since the last commit."""
        self._pending_alerts.clear()
        self._pending_incidents.clear()
        self._incident_bases.clear()
        self._pending_audit.clear()
        self._deliveries_pending = 0
        self._after_transaction()
        if self._in_tx:
            self._in_tx = False
            if self._sqlite:
                # Undo this unit of work's part only; the rest of the group goes on.
                try:
                    self._raw.execute("ROLLBACK TO SAVEPOINT aw_uow")
                    self._raw.execute("RELEASE SAVEPOINT aw_uow")
                except self.store.dbapi_error as error:
                    failure = translate(error, "ROLLBACK TO SAVEPOINT aw_uow", None)
                    self.store.fail_group(failure)
                    raise failure from error
                return
            if self._begin_pending:  # nothing was sent
                self._begin_pending = False
                return
            with self._errors("ROLLBACK"):
                await self._raw.execute("ROLLBACK")

    async def read_cache(self, table: str) -> dict[tuple[Any, ...], Any]:
        """Where reads of ``table`` are remembered.

        SQLite: the store's cache, shared by this process's units of work. They run one at a
        time on the process's one connection, and ``PRAGMA data_version`` on that connection
        changes exactly when another connection (another process) commits, which clears the
        cache; this process's own writes clear the written table's entries. A table this
        unit of work has written is read from the database (its own writes) and not cached.
        PostgreSQL: this unit of work's own memo (other processes write without telling).
        """
        self._read_tables.add(table)
        if not self._sqlite or table in self._dirty:
            return self.memo
        if not self._version_checked:
            await self._connect()
            self.store.check_data_version()
            self._version_checked = True
        return self.store.read_cache

    def forget_table(self, table: str) -> None:
        """Drop remembered reads of ``table`` (this transaction is about to write it)."""
        for key in [k for k in self.memo if k[0] == table]:
            del self.memo[key]
        self._dirty.add(table)
        if self._sqlite:
            self.store.forget_table(table)

    def _after_transaction(self) -> None:
        self._flushed_incidents.clear()
        self._begin_pending = False
        self.locked_keys.clear()
        self._pending_locks.clear()
        self.memo.clear()
        self._dirty.clear()
        self.incidents.forget()
