"""The mutable state of one open incident inside the in-memory :class:`~._correlator.Correlator`.

A :class:`Session` is what the correlator updates for every alert; frozen :class:`Incident`
snapshots are built from it only when asked (or when it leaves memory). It is kept small, as
the correlator holds one per open incident (the core benchmark checks ≤ 1 KiB each): the alert
ids are a list, and the tool-source and fingerprint *sets* exist only once a second distinct
value arrives (most incidents see one tool and one fingerprint).

Expiry bookkeeping lives here too: a :class:`CompanyClock` holds a company's watermark and the
expiry schedule of its sessions, in which an :data:`Entry` is a session's slot.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush
from typing import Any

from ._correlation import key_text
from ._models import Alert, Incident, IncidentStatus, Resolution, Severity

__all__ = ["RANK", "CompanyClock", "Entry", "Session"]

RANK = {s: s.rank for s in Severity}
"""Severity rank by member (``Severity.rank`` is a property; a dict lookup is cheaper)."""

_PENDING = IncidentStatus.PENDING
_NEW = IncidentStatus.NEW
_RESOLVED = IncidentStatus.RESOLVED

_BEGINNING = datetime.min.replace(tzinfo=UTC)  # the watermark of a company not yet heard from
_END = datetime.max.replace(tzinfo=UTC)  # the due of an empty schedule

# An expiry entry: [due, sequence, session]. A list, not a tuple, so that removing a session
# clears its slot in O(1) and frees the session at once; the sequence keeps sessions from ever
# being compared (entries are ordered by due, then sequence, and no two are equal).
Entry = list[Any]


class CompanyClock:
    """A company's watermark (the latest event time it has sent) and its expiry schedule.

    The schedule holds entries in ``(due, sequence)`` order, in two parts whose merge is that
    order: a queue taking every entry that comes after the queue's last, and a heap for the
    others. A storm (re)schedules almost every session at its latest event time plus a
    constant, so nearly every entry goes to the queue in O(1), where one heap of n entries
    would sift each through ~log n list comparisons (3% of the whole ingest pipeline with
    10,000 open incidents). ``due`` is the first entry's due (the end of time when empty),
    kept in a slot for the per-alert check.
    """

    __slots__ = ("due", "heap", "queue", "watermark")

    def __init__(self) -> None:
        self.watermark = _BEGINNING
        self.queue: deque[Entry] = deque()
        self.heap: list[Entry] = []
        self.due = _END

    def schedule(self, entry: Entry) -> None:
        """Add ``entry`` to the schedule."""
        queue = self.queue
        if not queue or entry > queue[-1]:
            queue.append(entry)
        else:
            heappush(self.heap, entry)
        if entry[0] < self.due:
            self.due = entry[0]

    def pop_expired(self, keep: timedelta | None) -> list[Session]:
        """Take out the sessions whose last event lies more than ``keep`` before the watermark.

        Expiry is lazy: joins never touch the schedule, so an entry that comes due is checked
        against its session's real ``last_event_at`` here, and re-scheduled if the session
        moved on. The sessions come out in schedule order, their entries cleared. ``keep`` is
        None only when nothing was ever scheduled (no allowed lateness).
        """
        assert keep is not None  # nothing is scheduled without an allowed lateness
        watermark = self.watermark
        heap, queue = self.heap, self.queue
        expired: list[Session] = []
        while True:
            if queue and (not heap or queue[0] < heap[0]):
                if not queue[0][0] < watermark:
                    break
                entry = queue.popleft()
            elif heap and heap[0][0] < watermark:
                entry = heappop(heap)
            else:
                break
            session: Session | None = entry[2]
            if session is None:  # closed (resolved or merged) since it was scheduled
                continue
            real_due = session.last_event_at + keep
            if real_due < watermark:
                session.entry = None
                expired.append(session)
            else:
                # schedule(), inlined: in a storm most entries that come due are re-scheduled
                # here (every session once per ``keep`` of event time). Comparing dues alone
                # sends an entry with the last one's due to the heap, which is still in order.
                # ``due`` is recomputed below.
                entry[0] = real_due
                if not queue or real_due > queue[-1][0]:
                    queue.append(entry)
                else:
                    heappush(heap, entry)
        if queue and (not heap or queue[0] < heap[0]):
            self.due = queue[0][0]
        else:
            self.due = heap[0][0] if heap else _END
        return expired


class Session:
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
        "reach",
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
        self.entry: Entry | None = None
        # How far after last_event_at an alert joins without checking the window and the
        # span cap (see extend_reach); not past last_event_at until first extended.
        self.reach = self.last_event_at

    def add_fingerprint(self, fingerprint: str) -> None:
        """Record a firing alert's fingerprint (``""`` for none)."""
        if self.fingerprints is not None:
            self.fingerprints.add(fingerprint)
        elif fingerprint != self.fingerprint:
            # (An open session always has a firing fingerprint; None is only defensive.)
            old = self.fingerprint
            self.fingerprints = {fingerprint} if old is None else {old, fingerprint}

    def extend_reach(self, last: datetime, window: timedelta, max_span: timedelta) -> None:
        """Cache how far a later alert may lie and still join, ``last`` being the latest alert.

        An alert at ``t`` with ``last_event_at < t <= reach`` lies within ``window`` of the last
        alert and within ``max_span`` of the first, as long as the first event time and the
        parameters stay: ``last_event_at`` only grows, so both gaps only shrink. Whoever moves
        the first event time back resets ``reach`` (to at most ``last_event_at``), and the
        correlator extends it only under fixed settings.
        """
        reach = last + window
        span_end = self.first_event_at + max_span
        self.reach = reach if reach < span_end else span_end

    def absorb_session(self, other: Session) -> None:
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
        if RANK[other.severity] > RANK[self.severity]:
            self.severity = other.severity
        tools = self.tool_source_set() | other.tool_source_set()
        self.tool_sources = tools if len(tools) > 1 else None
        firing = self.firing_set() | other.firing_set()
        self.fingerprint, self.fingerprints = None, firing
        self.pending = self.pending and other.pending
        self.reach = self.first_event_at

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
        """Whether any of its alerts is still firing."""
        return self.fingerprint is not None or self.fingerprints is not None

    @property
    def tool_source_count(self) -> int:
        """How many distinct tools reported it."""
        return 1 if self.tool_sources is None else len(self.tool_sources)

    def tool_source_set(self) -> set[str]:
        """The distinct tools that reported it (a new set)."""
        return set(self.tool_sources) if self.tool_sources is not None else {self.tool_source}

    def firing_set(self) -> set[str]:
        """The fingerprints still firing (a new set; ``""`` stands for an alert without one)."""
        if self.fingerprints is not None:
            return set(self.fingerprints)
        return set() if self.fingerprint is None else {self.fingerprint}

    def snapshot(
        self,
        status: IncidentStatus | None = None,
        resolved_at: datetime | None = None,
        merged_into: str | None = None,
    ) -> Incident:
        """A frozen :class:`Incident` of the current state (pending or new unless told)."""
        if status is None:
            status = _PENDING if self.pending else _NEW
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
            resolution=Resolution.SOURCE_RECOVERED if status is _RESOLVED else None,
            resolved_at=resolved_at,
            merged_into=merged_into,
        )
