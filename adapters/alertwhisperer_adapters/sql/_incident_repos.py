"""Alert and incident repositories: the correlation hot path.

Open incidents of a key read under that key's lock cannot change behind the unit of work's
back (PostgreSQL: the advisory lock; SQLite: the database write lock), so they are kept for
the rest of the transaction with this unit of work's own writes laid over them: a batch that
touches a key several times reads it once, and absorbing an alert into a candidate does not
read the candidate again.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Text, any_, cast, column, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from alertwhisperer_core import Alert, AlertStatus, Incident, IncidentStatus, Severity
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core.ports import AlertQuery, IncidentQuery, Page, sessions_key_by_key

from . import _mapping as m
from . import _schema as s
from ._dialects import key_lock_id
from ._fast import Prepared
from ._queries import after_cursor, param, row_limit, visible, within
from ._types import Identifier, UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

__all__ = ["OpenIncidentCache", "SqlAlerts", "SqlIncidents"]

_AL = s.alerts.c
_ALERT = Prepared(select(*m.ALERT_COLUMNS).where(_AL.id == param("id")))
_ALERT_IDS_OF = Prepared(
    select(_AL.id).where(_AL.incident_id == param("incident_id")).order_by(_AL.member_seq)
)


class SqlAlerts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def add(self, alert: Alert, incident_id: str | None) -> None:
        self.uow.buffer_alert(m.alert_row(alert, incident_id))

    async def reassign(self, from_incident_id: str, to_incident_id: str) -> None:
        moved = await self.ids_for_incident(from_incident_id)
        if moved:
            await self.uow.run_many(
                self.uow.dialect.renumber_member,
                [{"to_id": to_incident_id, "alert_id": alert_id} for alert_id in moved],
            )

    async def get(self, alert_id: str) -> tuple[Alert, str | None] | None:
        await self.uow.flush_alerts()
        rows = await self.uow.rows(_ALERT, {"id": alert_id})
        return m.alert_from_row(rows[0]) if rows else None

    async def ids_for_incident(self, incident_id: str) -> builtins.list[str]:
        await self.uow.flush_alerts()
        rows = await self.uow.rows(_ALERT_IDS_OF, {"incident_id": incident_id})
        return [row[0] for row in rows]

    def _where(self, query: AlertQuery) -> builtins.list[Any]:
        d = self.uow.dialect
        where: builtins.list[Any] = [visible(_AL.company_id, query.company_ids)]
        if query.incident_id is not None:
            where.append(_AL.incident_id == query.incident_id)
        if query.severity is not None:
            where.append(_AL.severity == query.severity.value)
        if query.status is not None:
            where.append(_AL.status == str(query.status))
        where += within(_AL.event_time, query.since, query.until)
        if query.q:
            q = query.q.lower()
            where.append(or_(d.contains(_AL.message, q), d.contains(_AL.signature, q)))
        return where

    async def list(self, query: AlertQuery) -> Page[tuple[Alert, str | None]]:
        await self.uow.flush_alerts()
        where = self._where(query)
        after = after_cursor(query.cursor, _AL.received_at, _AL.id)
        if after is not None:
            where.append(after)
        limit = row_limit(query.limit)
        stmt = (
            select(*m.ALERT_COLUMNS)
            .where(*where)
            .order_by(_AL.received_at.desc(), _AL.id.desc())
            .limit(limit + 1)
        )
        rows = [m.alert_from_row(r) for r in (await self.uow.execute(stmt)).all()]
        page = rows[:limit]
        cursor = None
        if len(rows) > limit and page:
            last = page[-1][0]
            cursor = encode_cursor(last.received_at.isoformat(), last.id)
        return Page(tuple(page), cursor)

    async def count(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> int:
        await self.uow.flush_alerts()
        stmt = (
            select(func.count())
            .select_from(s.alerts)
            .where(visible(_AL.company_id, company_ids), *within(_AL.event_time, since, until))
        )
        return int((await self.uow.execute(stmt)).scalar_one())

    async def count_groups(self, query: AlertQuery) -> Mapping[tuple[Severity, AlertStatus], int]:
        await self.uow.flush_alerts()
        stmt = (
            select(_AL.severity, _AL.status, func.count())
            .where(*self._where(query))
            .group_by(_AL.severity, _AL.status)
        )
        return {
            (Severity(sev), AlertStatus(status)): int(n)
            for sev, status, n in (await self.uow.execute(stmt)).all()
        }

    async def count_buckets(
        self,
        company_ids: frozenset[str] | None,
        since: datetime,
        until: datetime | None,
        width: timedelta,
    ) -> Mapping[int, int]:
        await self.uow.flush_alerts()
        index = self.uow.dialect.bucket_index(_AL.event_time, since, width).label("bucket")
        stmt = (
            select(index, func.count())
            .where(visible(_AL.company_id, company_ids), *within(_AL.event_time, since, until))
            .group_by(index)
        )
        return {int(i): int(n) for i, n in (await self.uow.execute(stmt)).all()}


_I = s.incidents.c
_INCIDENT = Prepared(select(*m.INCIDENT_COLUMNS).where(_I.id == param("id")))
_OPEN_FOR_KEY = Prepared(
    select(*m.INCIDENT_COLUMNS)
    .where(_I.company_id == param("c"), _I.key == param("key"), _I.is_open)
    .order_by(_I.first_event_at, _I.id)
)
# PostgreSQL: lock the key and read its open incidents in one round trip (see migration).
_LOCKED = func.aw_lock_open_incidents(
    cast(param("lock_id"), BigInteger),
    param("c", Identifier),
    param("key", Identifier),
    param("lo", UtcDateTime()),
    param("hi", UtcDateTime()),
).table_valued(*(column(c.name, c.type) for c in m.INCIDENT_COLUMNS))
_LOCK_AND_READ = Prepared(select(*_LOCKED.c))
_OPEN_IN_RANGE = Prepared(
    select(*m.INCIDENT_COLUMNS).where(
        _I.company_id == param("c"),
        _I.key == param("key"),
        _I.is_open,
        _I.first_event_at <= param("hi", UtcDateTime()),
        _I.last_event_at >= param("lo", UtcDateTime()),
    )
)
# Several keys' open incidents in one statement (a delivery's keys, locked beforehand), the
# key list as one parameter so the SQL is the same for any number of keys: a JSON array for
# SQLite (json_each), an array for PostgreSQL (= ANY).
_KEYS_SQLITE = _I.key.in_(
    select(column("value", Identifier)).select_from(func.json_each(param("keys")))
)
_KEYS_PG = _I.key == any_(cast(param("keys"), ARRAY(Text)))


def _of_keys(keys: Any, *, ranged: bool) -> Prepared:
    where = [_I.company_id == param("c"), keys, _I.is_open]
    if ranged:
        where += [
            _I.first_event_at <= param("hi", UtcDateTime()),
            _I.last_event_at >= param("lo", UtcDateTime()),
        ]
    return Prepared(select(*m.INCIDENT_COLUMNS).where(*where))


_OF_KEYS = {
    (True, True): _of_keys(_KEYS_SQLITE, ranged=True),
    (True, False): _of_keys(_KEYS_SQLITE, ranged=False),
    (False, True): _of_keys(_KEYS_PG, ranged=True),
    (False, False): _of_keys(_KEYS_PG, ranged=False),
}
# SQLite: the lock id every key shares (its write lock is the whole database's).
_SQLITE_LOCK = 0
# A read for one alert also covers this much time on either side, so the other alerts of a
# batch (close in time) are answered from it.
_MARGIN = timedelta(hours=1)
_LAST_ASSIGNEE = Prepared(
    select(_I.assigned_to)
    .where(_I.company_id == param("c"), _I.assigned_to.is_not(None))
    .order_by(_I.last_assigned_at.desc(), _I.seq)
    .limit(1)
)


def _by_start(incidents: Iterable[Incident]) -> builtins.list[Incident]:
    return sorted(incidents, key=lambda i: (i.first_event_at, i.id))


class _Known:
    """The stored open incidents of a key with ``last >= lo`` and ``first <= hi`` (None:
    unbounded), read under the key's lock."""

    __slots__ = ("hi", "incidents", "lo")

    def __init__(self, lo: datetime | None, hi: datetime | None, found: list[Incident]) -> None:
        self.lo, self.hi = lo, hi
        self.incidents = {i.id: i for i in found}

    def covers(self, lo: datetime | None, hi: datetime | None) -> bool:
        return (self.lo is None or (lo is not None and self.lo <= lo)) and (
            self.hi is None or (hi is not None and hi <= self.hi)
        )


class OpenIncidentCache:
    """SQLite: the stored open incidents of the keys this process has read, kept from one unit
    of work to the next, so a storm's keys are not read and decoded again for every delivery.

    It is right because this process's one connection reads it only inside a write
    transaction (``BEGIN IMMEDIATE``: nobody else commits meanwhile): this process's own
    commits update it (:meth:`SqlIncidents.committed`), and the store empties it with its
    read cache when ``PRAGMA data_version`` shows another connection committed
    (``SqlStore.check_cache_version``). At most ``max_keys`` keys are held; past that it
    starts over.
    """

    __slots__ = ("keys", "max_keys")

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self.keys: dict[tuple[str, str], _Known] = {}

    def clear(self) -> None:
        self.keys.clear()


class SqlIncidents:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        # This transaction's writes, newest version of each (flushed or not), and by key.
        self._written: dict[str, Incident] = {}
        self._written_by_key: dict[tuple[str, str], dict[str, Incident]] = {}
        # (company, key) → what is known of its stored open incidents (read under its lock).
        self._known: dict[tuple[str, str], _Known] = {}
        self._known_by_id: dict[str, Incident] = {}
        # SQLite: the process's cache of stored open incidents, once checked in this
        # transaction (None: not yet, or not SQLite).
        self._shared: OpenIncidentCache | None = None

    def forget(self) -> None:
        """Drop what was read or written: the transaction ended (locks released)."""
        self._written.clear()
        self._written_by_key.clear()
        self._known.clear()
        self._known_by_id.clear()
        self._shared = None

    def committed(self) -> None:
        """SQLite: this transaction committed; what it read and wrote is now what is stored,
        so the process's cache takes both (it is called before :meth:`forget`)."""
        shared = self._shared
        if shared is None:
            return
        if len(shared.keys) + len(self._known) > shared.max_keys:
            shared.keys.clear()
        for ck, known in self._known.items():
            shared.keys[ck] = known
        for ck, written in self._written_by_key.items():
            known = shared.keys.get(ck)
            if known is None:
                continue
            for incident in written.values():
                # A written incident outside the entry's range only makes it a superset.
                if incident.is_open:
                    known.incidents[incident.id] = incident
                else:
                    known.incidents.pop(incident.id, None)

    def _cached(self, ck: tuple[str, str]) -> _Known | None:
        """What this transaction or (SQLite, under the write lock) the process knows of the
        stored open incidents of ``ck``."""
        known = self._known.get(ck)
        if known is not None or not self.uow.dialect.is_sqlite:
            return known
        if not self.uow.holds_key(_SQLITE_LOCK):
            return None
        shared = self._shared
        if shared is None:
            # Checked here, inside the write transaction, even if this unit of work looked
            # before it began: another process may have committed in between.
            self.uow.store.check_data_version()
            shared = self._shared = self.uow.store.open_incidents
        known = shared.keys.get(ck)
        if known is not None:
            self._remember(ck, known)
        return known

    def _remember(self, ck: tuple[str, str], known: _Known) -> None:
        self._known[ck] = known
        self._known_by_id.update(known.incidents)

    def _overlay(self, company_id: str, key: str, stored: Iterable[Incident]) -> list[Incident]:
        """``stored`` open incidents of the key with this transaction's writes laid over,
        oldest first."""
        current = {i.id: i for i in stored}
        current.update(self._written_by_key.get((company_id, key), {}))
        return _by_start(i for i in current.values() if i.is_open)

    async def get(self, incident_id: str) -> Incident | None:
        found = self._written.get(incident_id) or self._known_by_id.get(incident_id)
        if found is not None:
            return found
        rows = await self.uow.rows(_INCIDENT, {"id": incident_id})
        return m.incident_from_row(rows[0]) if rows else None

    async def add(self, incident: Incident) -> None:
        self._write(incident)

    async def update(self, incident: Incident) -> None:
        self._write(incident)

    def _write(self, incident: Incident) -> None:
        stored = None
        if incident.id not in self._written:
            # Its first write in this transaction: the copy read under the key's lock is what
            # the database holds, so only the columns that differ from it are written.
            stored = self._known_by_id.get(incident.id)
        self.uow.buffer_incident(incident, stored)
        self._written[incident.id] = incident
        ck = (incident.company_id, incident.key)
        self._written_by_key.setdefault(ck, {})[incident.id] = incident

    async def lock_key(self, company_id: str, key: str) -> None:
        # SQLite's write lock is the whole database's: one id stands for every key there.
        sqlite = self.uow.dialect.is_sqlite
        await self.uow.lock_key(_SQLITE_LOCK if sqlite else key_lock_id(company_id, key))

    async def _stored_open(
        self, company_id: str, key: str, lo: datetime | None, hi: datetime | None
    ) -> list[Incident]:
        """Stored open incidents of the key overlapping [lo, hi] (at least), remembered
        while the key's lock is held."""
        known = self._cached((company_id, key))
        if known is not None and known.covers(lo, hi):
            return list(known.incidents.values())
        lock_id = _SQLITE_LOCK if self.uow.dialect.is_sqlite else key_lock_id(company_id, key)
        held = self.uow.holds_key(lock_id)
        if held and lo is not None and hi is not None:
            lo, hi = lo - _MARGIN, hi + _MARGIN
        params = {"c": company_id, "key": key, "lo": lo, "hi": hi}
        if await self.uow.take_pending_lock(lock_id):
            rows = await self.uow.rows(
                _LOCK_AND_READ, {**params, "lock_id": lock_id}, takes_lock=True
            )
        elif lo is None or hi is None:
            rows = await self.uow.rows(_OPEN_FOR_KEY, params)
        else:
            rows = await self.uow.rows(_OPEN_IN_RANGE, params)
        found = [m.incident_from_row(r) for r in rows]
        if held:
            self._remember((company_id, key), _Known(lo, hi, found))
        return found

    async def open_for_key(self, company_id: str, key: str) -> builtins.list[Incident]:
        stored = await self._stored_open(company_id, key, None, None)
        return self._overlay(company_id, key, stored)

    async def open_sessions(
        self, company_id: str, key: str, lo: datetime, hi: datetime
    ) -> builtins.list[Incident]:
        stored = await self._stored_open(company_id, key, lo, hi)
        return [
            i
            for i in self._overlay(company_id, key, stored)
            if i.last_event_at >= lo and i.first_event_at <= hi
        ]

    async def open_sessions_of_keys(
        self, company_id: str, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> Mapping[str, builtins.list[Incident]]:
        # Read every locked key not known yet in (at most) two statements, ranged keys over
        # the union of their ranges (a delivery's alerts are close in time); what is read is
        # remembered per key, so the per-key answers below come from memory.
        sqlite = self.uow.dialect.is_sqlite
        todo: dict[bool, dict[str, tuple[datetime, datetime] | None]] = {True: {}, False: {}}
        for key, span in ranges.items():
            known = self._cached((company_id, key))
            lo, hi = span if span is not None else (None, None)
            if (known is None or not known.covers(lo, hi)) and self.uow.holds_key(
                _SQLITE_LOCK if sqlite else key_lock_id(company_id, key)
            ):
                todo[span is not None][key] = span
        if not sqlite and len(todo[True]) + len(todo[False]) == 1:
            # One key: its own read takes its lock in the same round trip (below).
            todo = {True: {}, False: {}}
        for ranged, spans in todo.items():
            if not spans:
                continue
            params: dict[str, Any] = {"c": company_id}
            params["keys"] = m.json_text(builtins.list(spans)) if sqlite else builtins.list(spans)
            lo = hi = None
            if ranged:
                lo = min(span[0] for span in spans.values() if span) - _MARGIN
                hi = max(span[1] for span in spans.values() if span) + _MARGIN
                params |= {"lo": lo, "hi": hi}
            rows = await self.uow.rows(_OF_KEYS[sqlite, ranged], params)
            found: dict[str, builtins.list[Incident]] = {key: [] for key in spans}
            for incident in map(m.incident_from_row, rows):
                found[incident.key].append(incident)
            for key, incidents in found.items():
                self._remember((company_id, key), _Known(lo, hi, incidents))
        return await sessions_key_by_key(self, company_id, ranges)

    async def open_counts(self, user_ids: Sequence[str]) -> Mapping[str, int]:
        counts = dict.fromkeys(user_ids, 0)
        if not counts:
            return counts
        await self.uow.flush_incidents()
        stmt = (
            select(_I.assigned_to, func.count())
            .where(_I.is_open, _I.assigned_to.in_(builtins.list(counts)))
            .group_by(_I.assigned_to)
        )
        for user_id, n in (await self.uow.execute(stmt)).all():
            counts[user_id] = int(n)
        return counts

    async def last_assignee(self, company_id: str) -> str | None:
        await self.uow.flush_incidents()
        rows = await self.uow.rows(_LAST_ASSIGNEE, {"c": company_id})
        return rows[0][0] if rows else None

    def _where(self, query: IncidentQuery) -> builtins.list[Any]:
        d = self.uow.dialect
        where: builtins.list[Any] = [
            visible(_I.company_id, query.company_ids),
            _I.merged_into.is_(None),
        ]
        if not query.include_pending:
            where.append(_I.status != IncidentStatus.PENDING.value)
        if query.status is not None:
            where.append(_I.status == query.status.value)
        if query.severity is not None:
            where.append(_I.severity == query.severity.value)
        if query.assigned_to is not None:
            where.append(_I.assigned_to == query.assigned_to)
        where += within(_I.last_event_at, query.since, query.until)
        if query.q:
            q = query.q.lower()
            where.append(or_(d.contains(_I.signature, q), d.contains(_I.asset_name, q)))
        return where

    async def list(self, query: IncidentQuery) -> Page[Incident]:
        await self.uow.flush_incidents()
        where = self._where(query)
        after = after_cursor(query.cursor, _I.last_event_at, _I.id)
        if after is not None:
            where.append(after)
        limit = row_limit(query.limit)
        stmt = (
            select(*m.INCIDENT_COLUMNS)
            .where(*where)
            .order_by(_I.last_event_at.desc(), _I.id.desc())
            .limit(limit + 1)
        )
        rows = [m.incident_from_row(r) for r in (await self.uow.execute(stmt)).all()]
        page = rows[:limit]
        cursor = None
        if len(rows) > limit and page:
            cursor = encode_cursor(page[-1].last_event_at.isoformat(), page[-1].id)
        return Page(tuple(page), cursor)

    async def all_in_period(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> builtins.list[Incident]:
        await self.uow.flush_incidents()
        stmt = (
            select(*m.INCIDENT_COLUMNS)
            .where(visible(_I.company_id, company_ids), *within(_I.first_event_at, since, until))
            .order_by(_I.seq)
        )
        return [m.incident_from_row(r) for r in (await self.uow.execute(stmt)).all()]

    async def count_groups(
        self, query: IncidentQuery
    ) -> Mapping[tuple[Severity, IncidentStatus], int]:
        await self.uow.flush_incidents()
        stmt = (
            select(_I.severity, _I.status, func.count())
            .where(*self._where(query))
            .group_by(_I.severity, _I.status)
        )
        return {
            (Severity(sev), IncidentStatus(status)): int(n)
            for sev, status, n in (await self.uow.execute(stmt)).all()
        }
