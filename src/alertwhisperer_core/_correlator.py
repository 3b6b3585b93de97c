"""The in-memory correlation engine: alerts in, incident decisions out, bounded memory.

:class:`Correlator` applies the rules of :mod:`._correlation` (it calls the same
:func:`~._correlation.select_sessions` and :func:`~._correlation.choose_survivor` the
database planner uses) to mutable session objects, and builds frozen :class:`Incident`
snapshots only when asked. For a key with one open incident, the case of nearly every alert
in a storm, ``select_sessions``' one-candidate rule is written out in :meth:`Correlator.observe`
(the property tests check that the engine and the planner decide alike).

Memory stays bounded by retiring sessions, as stream processors do with late data. Each company
has a *watermark*, the latest event time it has sent. A session retires, leaving memory and
appearing once in a result's ``retired``, when ``watermark - last_event_at > window +
allowed_lateness``. A retired session can no longer be joined or resolved here: an alert that
arrives later than the allowed lateness opens a new incident (callers that replay a sender's
long backlog should raise ``allowed_lateness`` or pass ``None``, which never retires).
Resolved and merged sessions leave memory at once, and appear in ``retired`` too, so a caller
can persist every session's final state from the results alone.

Costs: a firing alert costs O(log n) (n = open sessions) and never work proportional to its
incident's size. Alert ids are appended to a list; expiry is lazy: a session is scheduled in its
company's :class:`~._sessions.CompanyClock` once, and when its entry comes due its real
``last_event_at`` is checked and the entry re-scheduled if the session moved on, so joins never
touch the expiry order. A merge moves the smaller id list into the larger one. Resolving scans
the open sessions of the key.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter

import msgspec

from ._correlation import choose_survivor, index_function, select_sessions
from ._models import Alert, AlertStatus, Incident, IncidentStatus, Severity
from ._sessions import RANK, CompanyClock, Session
from ._settings import CorrelationSettings
from .errors import ValidationError

__all__ = ["CorrelationResult", "Correlator"]

_RESOLVED = AlertStatus.RESOLVED
_NOT_CHECKED = datetime.min.replace(tzinfo=UTC)
_FIRST = attrgetter("first_event_at")
_LAST = attrgetter("last_event_at")
_DEFAULT_SETTINGS = CorrelationSettings()
_PARAM_CACHE_LIMIT = 4096
_ASSET_SIGNATURE = (["asset", "signature"], ["asset_name", "signature"])


class CorrelationResult(msgspec.Struct, frozen=True, gc=False):
    """What one alert did (a frozen ``msgspec.Struct``: one is built per alert, ~0.15 µs).

    Not tracked by the garbage collector: it holds strings, numbers, datetimes and tuples of
    snapshots made before it, so it can never be part of a reference cycle.

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


class _Params:
    """One settings object, pre-digested for the hot path."""

    __slots__ = (
        "auto",
        "by_asset_signature",
        "index_of",
        "keep",
        "max_span",
        "min_alerts",
        "settings",
        "window",
    )

    def __init__(self, settings: CorrelationSettings, lateness: timedelta | None) -> None:
        self.settings = settings
        self.window = settings.window
        self.max_span = settings.max_span
        self.index_of = index_function(settings.aggregation_key)
        # The default key, whose index is (company_id, asset_name, signature).
        self.by_asset_signature = settings.aggregation_key.split("|") in _ASSET_SIGNATURE
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
        "_checked_now",
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
        self._companies: dict[str, CompanyClock] = {}
        # Joinable sessions per (company, key), sorted by first_event_at and disjoint in event
        # time; sessions opened with auto_correlate off are only resolvable, so they live apart.
        self._open: dict[_IndexKey, list[Session]] = {}
        self._sealed: dict[_IndexKey, list[Session]] = {}
        self._by_id: dict[str, Session] = {}
        self._sequence = itertools.count()
        # The last ``now`` found timezone-aware: a caller passes the same object for a whole
        # batch, and datetimes are immutable, so an identity test re-checks it for free.
        self._checked_now: datetime = _NOT_CHECKED

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
        # The hot path of a storm: an alert joining the one open incident of its key. Every
        # step below is written so that case costs as few bytecodes as possible.
        t = alert.event_time
        if now is not self._checked_now:
            _check_aware(t, now)
            self._checked_now = now
        cid = alert.company_id
        try:
            clock = self._companies[cid]  # companies are few: a miss is rare
        except KeyError:
            clock = self._companies[cid] = CompanyClock()
        watermark = clock.watermark
        try:
            # The watermark is aware, so comparing with it is the awareness check of t.
            if t > watermark:
                clock.watermark = watermark = t
        except TypeError:
            if t.tzinfo is None:
                raise _naive("event_time") from None
            raise
        params = self._fixed or self._params_for(cid)
        retired: tuple[Incident, ...] = ()
        if clock.due < watermark:
            # Usually the due sessions have moved on and are only re-scheduled: nothing retires.
            expired = clock.pop_expired(params.keep)
            if expired:
                retired = self._retire(expired)
        # The default key spelled out: a tuple display costs less than the general getter.
        index_key = (
            (cid, alert.asset_name, alert.signature)
            if params.by_asset_signature
            else params.index_of(alert)
        )
        if alert.status is _RESOLVED:
            return self._resolve(alert, index_key, now, retired)
        if not params.auto:
            return self._open_session(alert, index_key, now, params, clock, retired, sealed=True)
        sessions = self._open.get(index_key)
        if sessions is None:
            return self._open_session(alert, index_key, now, params, clock, retired)
        merged: tuple[str, ...] = ()
        if len(sessions) == 1:
            # select_sessions' rule for a key with one open incident, inlined and fused with
            # the widening of its span: the only branch a storm takes.
            session = sessions[0]
            last = session.last_event_at
            if t > last:
                # Up to its reach an alert joins without arithmetic (see Session.reach).
                if t > session.reach:
                    if t - last > params.window or t - session.first_event_at > params.max_span:
                        return self._open_session(alert, index_key, now, params, clock, retired)
                    # (Not under a settings function: the next alert may bring another window.)
                    if params is self._fixed:
                        session.extend_reach(t, params.window, params.max_span)
                session.last_event_at = t
            elif t < session.first_event_at:
                first = session.first_event_at
                if first - t > params.window or last - t > params.max_span:
                    return self._open_session(alert, index_key, now, params, clock, retired)
                session.first_event_at = session.reach = t
        else:
            group = self._group(t, sessions, params)
            if not group:
                return self._open_session(alert, index_key, now, params, clock, retired)
            if len(group) == 1:
                session = group[0]
            else:
                session = choose_survivor(group)
                merged, closed = self._merge(session, group)
                retired += closed
            if t > session.last_event_at:
                session.last_event_at = t
            elif t < session.first_event_at:
                session.first_event_at = session.reach = t
        alert_id = alert.id
        session.alert_ids.append(alert_id)
        session.alert_count = count = session.alert_count + 1
        severity = alert.severity
        if severity is not session.severity and RANK[severity] > RANK[session.severity]:
            session.severity = severity
        tool = alert.tool_source
        tools = session.tool_sources
        if tools is not None:
            if tool not in tools:
                tools.add(tool)
            tool_count = len(tools)
        elif tool == session.tool_source:
            tool_count = 1
        else:
            session.tool_sources = {session.tool_source, tool}
            tool_count = 2
        fingerprint = alert.fingerprint or ""
        if fingerprint != session.fingerprint or session.fingerprints is not None:
            session.add_fingerprint(fingerprint)
        activated = False
        pending = session.pending
        if pending and count >= params.min_alerts:
            session.pending = pending = False
            activated = True
        # Positional: keywords cost ~80 ns more per alert. Field order is the class's.
        return CorrelationResult(
            alert_id, session.id, False, activated, merged, False, pending,
            retired, session.severity, count, tool_count, session.created_at,
        )  # fmt: skip

    def _group(self, t: datetime, sessions: list[Session], params: _Params) -> Sequence[Session]:
        """The sessions of a key with several open ones that an alert at ``t`` joins."""
        window = params.window
        hi = bisect_right(sessions, t + window, key=_FIRST)
        lo = bisect_left(sessions, t - window, 0, hi, key=_LAST)
        return select_sessions(t, sessions[lo:hi], window, params.max_span)

    def _merge(
        self, survivor: Session, group: Sequence[Session]
    ) -> tuple[tuple[str, ...], tuple[Incident, ...]]:
        """Merge the rest of ``group`` into ``survivor``: the merged ids and their snapshots."""
        merged = tuple(s.id for s in group if s is not survivor)
        closed = []
        for other in group:
            if other is not survivor:
                closed.append(other.snapshot(merged_into=survivor.id))
                self._forget(other)
                survivor.absorb_session(other)
        return merged, tuple(closed)

    def _open_session(
        self,
        alert: Alert,
        index_key: _IndexKey,
        now: datetime,
        params: _Params,
        clock: CompanyClock,
        retired: tuple[Incident, ...],
        *,
        sealed: bool = False,
    ) -> CorrelationResult:
        pending = params.min_alerts > 1
        session = Session(self._new_id(), alert, index_key, now, pending, sealed)
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
            clock.schedule(entry)
        return CorrelationResult(
            alert.id, session.id, True, not pending, (), False, pending,
            retired, session.severity, 1, 1, now,
        )  # fmt: skip

    def _resolve(
        self, alert: Alert, index_key: _IndexKey, now: datetime, retired: tuple[Incident, ...]
    ) -> CorrelationResult:
        fingerprint = alert.fingerprint
        matched: list[Session] = []
        for index in (self._open, self._sealed):
            for session in index.get(index_key, ()):
                if session.resolve(fingerprint):
                    matched.append(session)
        if not matched:
            return CorrelationResult(
                alert.id, None, False, False, (), False, False, retired, None, 0, 0, None,
            )  # fmt: skip
        # Listed with the latest incident it resolved, as the database path does.
        target = max(matched, key=lambda s: (s.first_event_at, s.id))
        target.alert_ids.append(alert.id)
        closed = list(retired)
        for session in matched:
            if not session.firing:
                closed.append(session.snapshot(IncidentStatus.RESOLVED, resolved_at=now))
                self._forget(session)
        return CorrelationResult(
            alert.id, target.id, False, False, (), not target.firing, target.pending,
            tuple(closed), target.severity, target.alert_count, target.tool_source_count,
            target.created_at,
        )  # fmt: skip

    def _retire(self, expired: list[Session]) -> tuple[Incident, ...]:
        """Retire sessions past due (out of their schedule already): their final snapshots."""
        retired = []
        for session in expired:
            retired.append(session.snapshot())
            self._forget(session)
        return tuple(retired)

    def _forget(self, session: Session) -> None:
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


def _naive(field: str) -> ValidationError:
    return ValidationError.for_field(field, "must be timezone-aware")


def _check_aware(event_time: datetime, now: datetime) -> None:
    """The awareness checks of :meth:`Correlator.observe`, in the order it reports them."""
    if event_time.tzinfo is None:
        raise _naive("event_time")
    if now.tzinfo is None:
        raise _naive("now")
