"""The in-memory correlation engine: alerts in, incident decisions out, bounded memory.

:class:`Correlator` applies the rules of :mod:`._correlation` (it calls the same
:func:`~._correlation.select_sessions` and :func:`~._correlation.choose_survivor` the
database planner uses) to mutable session objects, and builds frozen :class:`Incident`
snapshots only when asked.

Memory stays bounded by retiring sessions, as stream processors do with late data. Each company
has a *watermark*, the latest event time it has sent. A session retires, leaving memory and
appearing once in a result's ``retired``, when ``watermark - last_event_at > window +
allowed_lateness``. A retired session can no longer be joined or resolved here: an alert that
arrives later than the allowed lateness opens a new incident (callers that replay a sender's
long backlog should raise ``allowed_lateness`` or pass ``None``, which never retires).
Resolved and merged sessions leave memory at once, and appear in ``retired`` too, so a caller
can persist every session's final state from the results alone.

Costs: a firing alert costs O(log n) (n = open sessions) and never work proportional to its
incident's size. Alert ids are appended to a list; expiry is lazy: a session is scheduled in a
per-company heap once, and when its entry comes due its real ``last_event_at`` is checked and
the entry re-scheduled if the session moved on, so joins never touch the expiry order. A merge
moves the smaller id list into the larger one. Resolving scans the open sessions of the key.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush, heapreplace
from operator import attrgetter
from typing import Any

import msgspec

from ._correlation import choose_survivor, index_function, key_text, select_sessions
from ._models import Alert, AlertStatus, Incident, IncidentStatus, Resolution, Severity
from ._settings import CorrelationSettings
from .errors import ValidationError

__all__ = ["CorrelationResult", "Correlator"]

_RANK = {s: s.rank for s in Severity}
_RESOLVED = AlertStatus.RESOLVED
_BEGINNING = datetime.min.replace(tzinfo=UTC)  # the watermark of a company not yet heard from
_FIRST = attrgetter("first_event_at")
_LAST = attrgetter("last_event_at")
_DEFAULT_SETTINGS = CorrelationSettings()
_PARAM_CACHE_LIMIT = 4096


class CorrelationResult(msgspec.Struct, frozen=True):
    """What one alert did (a frozen ``msgspec.Struct``: one is built per alert, ~0.15 µs).

    ``incident_id`` is ``None`` only for a resolved alert that matched no open incident (it is
    still a stored alert). ``activated`` is true when the incident became visible through this
    alert: opened with ``min_alerts`` 1, or a pending group reaching ``min_alerts``; the service
    notifies, assigns and runs runbooks exactly then. ``merged`` lists the incidents merged into
    ``incident_id`` by this alert. ``resolved``: the incident resolved because of this alert.
    ``pending``: the incident has not been activated (also when a pending group resolves before
    it ever was). ``retired`` holds final snapshots of sessions that left memory during this
    call (expired, merged or resolved). ``severity``, ``alert_count``, ``tool_source_count`` and
    ``created_at`` describe the incident after this alert (what the priority score needs);
    ``alert_count`` counts firing alerts, as a recovery adds no duplicate.
    """

    alert_id: str
    incident_id: str | None
    opened: bool
    activated: bool
    merged: tuple[str, ...]
    resolved: bool
    pending: bool
    retired: tuple[Incident, ...]
    severity: Severity | None
    alert_count: int
    tool_source_count: int
    created_at: datetime | None


class _Session:
    """One open incident, mutable; ``fingerprint``/``fingerprints`` hold the firing set."""

    __slots__ = (
        "alert_count",
        "alert_ids",
        "asset_name",
        "company_id",
        "created_at",
        "entry",
        "fingerprint",
        "fingerprints",
        "first_event_at",
        "id",
        "index",
        "last_event_at",
        "pending",
        "sealed",
        "severity",
        "signature",
        "tool_source",
        "tool_sources",
    )

    def __init__(
        self,
        incident_id: str,
        alert: Alert,
        index: tuple[str, ...],
        now: datetime,
        pending: bool,
        sealed: bool,
    ) -> None:
        self.id = incident_id
        self.company_id = alert.company_id
        self.index = index
        # The text key is built only for snapshots: the index tuple already identifies the key.
        self.asset_name = alert.asset_name
        self.signature = alert.signature
        self.severity = alert.severity
        self.first_event_at = self.last_event_at = alert.event_time
        self.created_at = now
        self.alert_ids = [alert.id]
        self.alert_count = 1
        # Most incidents see one tool and one fingerprint; a set is built only for a second.
        self.tool_source = alert.tool_source
        self.tool_sources: set[str] | None = None
        self.fingerprint: str | None = alert.fingerprint or ""
        self.fingerprints: set[str] | None = None
        self.pending = pending
        self.sealed = sealed
        self.entry: _Entry | None = None

    def add_fingerprint(self, fingerprint: str) -> None:
        if self.fingerprints is not None:
            self.fingerprints.add(fingerprint)
        elif fingerprint != self.fingerprint:
            # (An open session always has a firing fingerprint; None is only defensive.)
            old = self.fingerprint
            self.fingerprints = {fingerprint} if old is None else {old, fingerprint}

    def absorb_session(self, other: _Session) -> None:
        """Take over every alert of ``other`` (which then leaves memory)."""
        if len(self.alert_ids) >= len(other.alert_ids):
            self.alert_ids.extend(other.alert_ids)
        else:
            # Keep this session's ids first but copy only the shorter list.
            other.alert_ids[:0] = self.alert_ids
            self.alert_ids = other.alert_ids
        self.alert_count += other.alert_count
        self.first_event_at = min(self.first_event_at, other.first_event_at)
        self.last_event_at = max(self.last_event_at, other.last_event_at)
        if _RANK[other.severity] > _RANK[self.severity]:
            self.severity = other.severity
        tools = self.tool_source_set() | other.tool_source_set()
        self.tool_sources = tools if len(tools) > 1 else None
        firing = self.firing_set() | other.firing_set()
        self.fingerprint, self.fingerprints = None, firing
        self.pending = self.pending and other.pending

    def resolve(self, fingerprint: str | None) -> bool:
        """Resolve the firing alerts ``fingerprint`` names (all when ``None``); any resolved?"""
        if fingerprint is None:
            # An open session always has a firing alert, and a fingerprint-less recovery
            # resolves them all.
            self.fingerprint = self.fingerprints = None
            return True
        if self.fingerprints is not None:
            if fingerprint not in self.fingerprints:
                return False
            self.fingerprints.discard(fingerprint)
            if not self.fingerprints:
                self.fingerprints = None
                self.fingerprint = None
            return True
        if fingerprint == self.fingerprint:
            self.fingerprint = None
            return True
        return False

    @property
    def firing(self) -> bool:
        return self.fingerprint is not None or self.fingerprints is not None

    def tool_source_set(self) -> set[str]:
        return set(self.tool_sources) if self.tool_sources is not None else {self.tool_source}

    def firing_set(self) -> set[str]:
        if self.fingerprints is not None:
            return set(self.fingerprints)
        return set() if self.fingerprint is None else {self.fingerprint}

    def snapshot(
        self,
        status: IncidentStatus | None = None,
        resolved_at: datetime | None = None,
        merged_into: str | None = None,
    ) -> Incident:
        if status is None:
            status = IncidentStatus.PENDING if self.pending else IncidentStatus.NEW
        return Incident(
            id=self.id,
            company_id=self.company_id,
            key=key_text(self.index),
            asset_name=self.asset_name,
            signature=self.signature,
            severity=self.severity,
            status=status,
            alert_count=self.alert_count,
            tool_sources=frozenset(self.tool_source_set()),
            first_event_at=self.first_event_at,
            last_event_at=self.last_event_at,
            created_at=self.created_at,
            alert_ids=tuple(self.alert_ids),
            firing_fingerprints=frozenset(self.firing_set()),
            resolution=Resolution.SOURCE_RECOVERED if status is IncidentStatus.RESOLVED else None,
            resolved_at=resolved_at,
            merged_into=merged_into,
        )


# An expiry entry: [due, sequence, session]. A list, not a tuple, so that removing a session
# clears its slot in O(1) and frees the session at once; the sequence keeps sessions from ever
# being compared.
_Entry = list[Any]


class _Company:
    __slots__ = ("expiry", "watermark")

    def __init__(self) -> None:
        self.watermark = _BEGINNING
        self.expiry: list[_Entry] = []  # a heap of entries ordered by due


class _Params:
    """One settings object, pre-digested for the hot path."""

    __slots__ = ("auto", "index_of", "keep", "max_span", "min_alerts", "settings", "window")

    def __init__(self, settings: CorrelationSettings, lateness: timedelta | None) -> None:
        self.settings = settings
        self.window = settings.window
        self.max_span = settings.max_span
        self.index_of = index_function(settings.aggregation_key)
        self.auto = settings.auto_correlate
        # Without correlation there is no group to wait for: every alert is its own incident.
        self.min_alerts = settings.min_alerts if settings.auto_correlate else 1
        self.keep = None if lateness is None else self.window + lateness


_IndexKey = tuple[str, ...]


class Correlator:
    """Correlates a stream of alerts into incidents in memory (SPEC §3).

    ``settings`` is one :class:`CorrelationSettings` for every company or a function of the
    company id, called for every alert so a change applies from the next alert on. ``new_id``
    names new incidents. ``allowed_lateness`` bounds memory (see the module docs); ``None``
    keeps every open session until it is resolved or merged.
    """

    __slots__ = (
        "_by_id",
        "_companies",
        "_fixed",
        "_lateness",
        "_new_id",
        "_open",
        "_params",
        "_sealed",
        "_sequence",
        "_settings_of",
    )

    def __init__(
        self,
        *,
        new_id: Callable[[], str],
        settings: CorrelationSettings | Callable[[str], CorrelationSettings] = _DEFAULT_SETTINGS,
        allowed_lateness: timedelta | None = timedelta(minutes=5),
    ) -> None:
        if allowed_lateness is not None and (
            not isinstance(allowed_lateness, timedelta) or allowed_lateness < timedelta(0)
        ):
            raise ValidationError.for_field(
                "allowed_lateness", "must be a non-negative timedelta or None"
            )
        if not callable(new_id):
            raise ValidationError.for_field("new_id", "must be a callable returning a new id")
        self._new_id = new_id
        self._lateness = allowed_lateness
        self._fixed: _Params | None = None
        self._settings_of: Callable[[str], CorrelationSettings] | None = None
        if isinstance(settings, CorrelationSettings):
            self._fixed = _Params(settings, allowed_lateness)
        elif callable(settings):
            self._settings_of = settings
        else:
            raise ValidationError.for_field(
                "settings", "must be CorrelationSettings or a function of the company id"
            )
        self._params: dict[int, _Params] = {}
        self._companies: dict[str, _Company] = {}
        # Joinable sessions per (company, key), sorted by first_event_at and disjoint in event
        # time; sessions opened with auto_correlate off are only resolvable, so they live apart.
        self._open: dict[_IndexKey, list[_Session]] = {}
        self._sealed: dict[_IndexKey, list[_Session]] = {}
        self._by_id: dict[str, _Session] = {}
        self._sequence = itertools.count()

    @property
    def open_count(self) -> int:
        """Sessions held in memory (open incidents not yet retired, pending ones included)."""
        return len(self._by_id)

    def snapshot(self, incident_id: str) -> Incident:
        """The current state of an open incident; ``KeyError`` if unknown or retired."""
        return self._by_id[incident_id].snapshot()

    def open_incidents(self) -> Iterator[Incident]:
        """Snapshots of every session in memory, pending groups included, oldest first."""
        for session in list(self._by_id.values()):
            yield session.snapshot()

    def _params_for(self, company_id: str) -> _Params:
        assert self._settings_of is not None
        settings = self._settings_of(company_id)
        # Keyed by identity and checked by identity: hashing an attrs record costs more than
        # the rest of a join. The entry holds the object, so its id cannot be reused.
        params = self._params.get(id(settings))
        if params is not None and params.settings is settings:
            return params
        if not isinstance(settings, CorrelationSettings):
            raise ValidationError.for_field(
                "settings", "the settings function must return CorrelationSettings"
            )
        if len(self._params) >= _PARAM_CACHE_LIMIT:
            self._params.clear()
        params = self._params[id(settings)] = _Params(settings, self._lateness)
        return params

    def observe(self, alert: Alert, now: datetime) -> CorrelationResult:
        """Correlate one alert received at ``now`` (a new incident's ``created_at``)."""
        t = alert.event_time
        if t.tzinfo is None:
            raise ValidationError.for_field("event_time", "must be timezone-aware")
        if now.tzinfo is None:
            raise ValidationError.for_field("now", "must be timezone-aware")
        cid = alert.company_id
        params = self._fixed or self._params_for(cid)
        company = self._companies.get(cid)
        if company is None:
            company = self._companies[cid] = _Company()
        watermark = company.watermark
        if t > watermark:
            company.watermark = watermark = t
        retired: list[Incident] = []
        expiry = company.expiry
        if expiry and expiry[0][0] < watermark:
            self._expire(company, watermark, params, retired)
        index_key = params.index_of(alert)
        if alert.status is _RESOLVED:
            return self._resolve(alert, index_key, now, retired)
        if not params.auto:
            return self._open_session(alert, index_key, now, params, company, retired, sealed=True)
        sessions = self._open.get(index_key)
        if sessions is None:
            return self._open_session(alert, index_key, now, params, company, retired)
        window = params.window
        if len(sessions) == 1:
            group = select_sessions(t, sessions, window, params.max_span)
        else:
            hi = bisect_right(sessions, t + window, key=_FIRST)
            lo = bisect_left(sessions, t - window, 0, hi, key=_LAST)
            group = select_sessions(t, sessions[lo:hi], window, params.max_span)
        if not group:
            return self._open_session(alert, index_key, now, params, company, retired)
        merged: tuple[str, ...] = ()
        if len(group) == 1:
            session = group[0]
        else:
            session = choose_survivor(group)
            merged = tuple(s.id for s in group if s is not session)
            for other in group:
                if other is not session:
                    retired.append(other.snapshot(merged_into=session.id))
                    self._forget(other)
                    session.absorb_session(other)
        # The alert joins; inlined because this is the hot path of a storm.
        session.alert_ids.append(alert.id)
        session.alert_count = count = session.alert_count + 1
        if t > session.last_event_at:
            session.last_event_at = t
        elif t < session.first_event_at:
            session.first_event_at = t
        severity = alert.severity
        if severity is not session.severity and _RANK[severity] > _RANK[session.severity]:
            session.severity = severity
        tool = alert.tool_source
        if session.tool_sources is not None:
            session.tool_sources.add(tool)
        elif tool != session.tool_source:
            session.tool_sources = {session.tool_source, tool}
        fingerprint = alert.fingerprint or ""
        if fingerprint != session.fingerprint or session.fingerprints is not None:
            session.add_fingerprint(fingerprint)
        activated = False
        if session.pending and count >= params.min_alerts:
            session.pending = False
            activated = True
        # Positional: keywords cost ~80 ns more per alert. Field order is the class's.
        return CorrelationResult(
            alert.id, session.id, False, activated, merged, False, session.pending,
            tuple(retired) if retired else (), session.severity, session.alert_count,
            len(session.tool_sources) if session.tool_sources is not None else 1,
            session.created_at,
        )  # fmt: skip

    def _open_session(
        self,
        alert: Alert,
        index_key: _IndexKey,
        now: datetime,
        params: _Params,
        company: _Company,
        retired: list[Incident],
        *,
        sealed: bool = False,
    ) -> CorrelationResult:
        pending = params.min_alerts > 1
        session = _Session(self._new_id(), alert, index_key, now, pending, sealed)
        if session.id in self._by_id:
            raise ValidationError.for_field(
                "new_id", f"returned an id already in use: {session.id!r}"
            )
        index = self._sealed if sealed else self._open
        sessions = index.get(index_key)
        if sessions is None:
            index[index_key] = [session]
        else:
            insort(sessions, session, key=_FIRST)
        self._by_id[session.id] = session
        if params.keep is not None:
            session.entry = entry = [
                session.last_event_at + params.keep,
                next(self._sequence),
                session,
            ]
            heappush(company.expiry, entry)
        return CorrelationResult(
            alert.id, session.id, True, not pending, (), False, pending,
            tuple(retired) if retired else (), session.severity, 1, 1, now,
        )  # fmt: skip

    def _resolve(
        self, alert: Alert, index_key: _IndexKey, now: datetime, retired: list[Incident]
    ) -> CorrelationResult:
        fingerprint = alert.fingerprint
        matched: list[_Session] = []
        for index in (self._open, self._sealed):
            for session in index.get(index_key, ()):
                if session.resolve(fingerprint):
                    matched.append(session)
        if not matched:
            return CorrelationResult(
                alert.id, None, False, False, (), False, False, tuple(retired), None, 0, 0, None,
            )  # fmt: skip
        # Listed with the latest incident it resolved, as the database path does.
        target = max(matched, key=lambda s: (s.first_event_at, s.id))
        target.alert_ids.append(alert.id)
        for session in matched:
            if not session.firing:
                retired.append(session.snapshot(IncidentStatus.RESOLVED, resolved_at=now))
                self._forget(session)
        return CorrelationResult(
            alert.id, target.id, False, False, (), not target.firing, target.pending,
            tuple(retired), target.severity, target.alert_count,
            len(target.tool_sources) if target.tool_sources is not None else 1,
            target.created_at,
        )  # fmt: skip

    def _expire(
        self, company: _Company, watermark: datetime, params: _Params, retired: list[Incident]
    ) -> None:
        expiry = company.expiry
        keep = params.keep
        assert keep is not None  # nothing is scheduled without an allowed lateness
        while expiry and expiry[0][0] < watermark:
            entry = expiry[0]
            session: _Session | None = entry[2]
            if session is None:  # closed (resolved or merged) since it was scheduled
                heappop(expiry)
                continue
            # Lazy expiry: joins never touch this heap, so check the real last event now.
            real_due = session.last_event_at + keep
            if real_due < watermark:
                heappop(expiry)
                session.entry = None
                retired.append(session.snapshot())
                self._forget(session)
            else:
                entry[0] = real_due
                heapreplace(expiry, entry)

    def _forget(self, session: _Session) -> None:
        """Remove ``session`` from every index (its expiry entry included)."""
        del self._by_id[session.id]
        index = self._sealed if session.sealed else self._open
        index_key = session.index
        sessions = index[index_key]
        if len(sessions) == 1:
            del index[index_key]
        else:
            i = bisect_left(sessions, session.first_event_at, key=_FIRST)
            while sessions[i] is not session:
                i += 1
            del sessions[i]
        if session.entry is not None:
            session.entry[2] = None
            session.entry = None
