"""Correlation decisions (SPEC §3): the aggregation key and the session-window planner.

Sessions are per aggregation key in event time: an alert joins an open incident of its key
when it lies within ``window`` of it (a gap exactly equal to the window still joins), and an
alert within the window of several open incidents bridges them into one. The rules, shared by
the database-backed service (through :func:`plan_correlation`) and the in-memory
:class:`~alertwhisperer_core.Correlator` (through :func:`select_sessions` directly), are:

1. *Candidates* are the open incidents of the key whose span ``[first, last]`` comes within
   ``window`` of the alert's event time ``t``: ``last >= t - window`` and ``first <= t + window``.
2. If the alert and all candidates together span at most ``max_span`` (last - first), they all
   become one incident. That is the ordinary join (one candidate) and the bridge merge (two or
   more); without ``max_span`` in play the outcome is the same for every arrival order.
3. Otherwise nothing is merged and the alert joins the single candidate *nearest* to it (0 when
   ``t`` lies inside its span; ties go to the earlier incident) among those it can join without
   widening that candidate's span past ``max_span``; when there is none it opens a new
   incident. This is the one rule that depends on arrival order: which alerts reached an
   incident first decides where its span cap falls. An alert inside an incident's span always
   joins it (even if a lowered ``max_span`` is already exceeded: joining widens nothing), so
   the open incidents of a key stay disjoint in event time.

The incident that survives a merge is the earliest one already visible (not pending), else the
earliest: SPEC §3's "the later is merged into the earlier", except that an incident the company
has already seen (assigned, notified, maybe healed) is never merged into a hidden pending group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, Protocol, TypeVar

import attrs

from ._models import Alert
from ._settings import AGGREGATION_FIELDS, CorrelationSettings
from .errors import ValidationError

__all__ = [
    "CorrelationPlan",
    "SessionLike",
    "SessionView",
    "aggregation_key",
    "candidate_range",
    "choose_survivor",
    "index_function",
    "key_text",
    "plan_correlation",
    "select_sessions",
]

_ZERO = timedelta(0)
_KEY_FIELD = "correlation.aggregation_key"

# Aggregation-key names that are plain ``str`` attributes of an alert (enums are ``str``s).
_ATTRIBUTES = {
    "asset": "asset_name",
    "asset_name": "asset_name",
    "signature": "signature",
    "severity": "severity",
    "status": "status",
    "tool_source": "tool_source",
    "tool": "tool_source",
    "source": "source",
    "company_id": "company_id",
}


def _part_getter(name: str) -> Callable[[Alert], str]:
    if name in _ATTRIBUTES:
        get: Callable[[Alert], str] = attrgetter(_ATTRIBUTES[name])
        return get
    if name == "fingerprint":
        return lambda alert: alert.fingerprint or ""
    label = name[len("label:") :]
    return lambda alert: alert.labels.get(label, "")


@functools.lru_cache(maxsize=256)
def index_function(spec: str) -> Callable[[Alert], tuple[str, ...]]:
    """Compile an ``aggregation_key`` spec like ``asset|signature`` into an index function.

    The function returns ``(company_id, value, ...)``: the alert's company and the values of the
    named fields (``label:NAME`` gives that label's value; a missing label or fingerprint gives
    ``""``). Alerts belong to the same sessions exactly when their tuples are equal; the tuple
    is the in-memory index key (building it is cheaper than the text key), and
    :func:`key_text` turns it into the stored key. Compiled functions are memoized per spec
    (a pure memo: same spec, same function).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValidationError.for_field(
            _KEY_FIELD, "must be a non-empty string like 'asset|signature'"
        )
    names = spec.split("|")
    for name in names:
        if name not in AGGREGATION_FIELDS and not (name.startswith("label:") and len(name) > 6):
            allowed = ", ".join(sorted(AGGREGATION_FIELDS))
            raise ValidationError.for_field(
                _KEY_FIELD, f"unknown field {name!r}; use one of {allowed} or label:NAME"
            )
    if all(name in _ATTRIBUTES for name in names):
        get_all: Callable[[Alert], tuple[str, ...]] = attrgetter(
            "company_id", *(_ATTRIBUTES[name] for name in names)
        )
        return get_all
    getters = [_part_getter(name) for name in names]
    return lambda alert: (alert.company_id, *[get(alert) for get in getters])


def _escape(part: str) -> str:
    return part.replace("\\", "\\\\").replace("|", "\\|")


def key_text(index: tuple[str, ...]) -> str:
    """The aggregation key of an index tuple: its field values (not the company) joined by ``|``.

    A ``|`` or ``\\`` inside a value is escaped with ``\\``, so two different tuples never
    share a key.
    """
    parts = index[1:]
    key = "|".join(parts)
    # One C-level scan finds the rare value that needs escaping.
    if key.count("|") != len(parts) - 1 or "\\" in key:
        return "|".join([_escape(part) for part in parts])
    return key


def aggregation_key(alert: Alert, spec: str) -> str:
    """The aggregation key of ``alert`` under ``spec`` (see :func:`index_function`)."""
    return key_text(index_function(spec)(alert))


class SessionLike(Protocol):
    """What the planning rules read from an open incident of the key."""

    @property
    def first_event_at(self) -> datetime: ...

    @property
    def last_event_at(self) -> datetime: ...

    @property
    def pending(self) -> bool: ...


S = TypeVar("S", bound=SessionLike)


def select_sessions(
    event_time: datetime, ordered: Sequence[S], window: timedelta, max_span: timedelta
) -> Sequence[S]:
    """The open incidents an alert at ``event_time`` joins, earliest first (rules 1 to 3 above).

    ``ordered`` holds open incidents of the alert's key sorted by ``first_event_at``; entries
    out of reach are ignored. An empty result means the alert opens a new incident; two or more
    means they merge.
    """
    t = event_time
    if len(ordered) == 1:
        # The common case, a key with one open incident, without building lists.
        only = ordered[0]
        first, last = only.first_event_at, only.last_event_at
        if t > last:
            if t - last > window or t - first > max_span:
                return ()
        elif t < first and (first - t > window or last - t > max_span):
            return ()
        return ordered
    lo, hi = t - window, t + window
    candidates = [s for s in ordered if s.last_event_at >= lo and s.first_event_at <= hi]
    if len(candidates) < 2:
        return select_sessions(t, candidates, window, max_span) if candidates else ()
    start = min(t, candidates[0].first_event_at)
    end = max(t, max(s.last_event_at for s in candidates))
    if end - start <= max_span:
        return candidates
    best: S | None = None
    best_distance = _ZERO
    for s in candidates:
        first, last = s.first_event_at, s.last_event_at
        if t < first:
            distance, span = first - t, last - t
        elif t > last:
            distance, span = t - last, t - first
        else:
            distance, span = _ZERO, _ZERO  # inside its span: joining widens nothing
        if span <= max_span and (best is None or distance < best_distance):
            best, best_distance = s, distance
    return () if best is None else (best,)


def choose_survivor(group: Sequence[S]) -> S:
    """The incident of a merge ``group`` (earliest first) that absorbs the others.

    The earliest one that is already visible, else the earliest: an incident the company has
    seen is never merged into a pending group.
    """
    for s in group:
        if not s.pending:
            return s
    return group[0]


def _check_aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError.for_field(field, "must be a timezone-aware datetime")
    return value


def _aware(field: str) -> Callable[[Any, attrs.Attribute[Any], object], None]:
    def check(_inst: Any, _attr: attrs.Attribute[Any], value: object) -> None:
        _check_aware(field, value)

    return check


@attrs.frozen
class SessionView:
    """What a repository returns about one open incident of a key, for :func:`plan_correlation`.

    ``pending`` is true for a group still below the company's ``min_alerts``.
    """

    incident_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    first_event_at: datetime = attrs.field(validator=_aware("first_event_at"))
    last_event_at: datetime = attrs.field(validator=_aware("last_event_at"))
    pending: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.last_event_at < self.first_event_at:
            raise ValidationError.for_field("last_event_at", "must not be before first_event_at")


def _plan_consistent(inst: CorrelationPlan, _attr: attrs.Attribute[Any], value: bool) -> None:
    if value != (inst.join is None):
        raise ValidationError.for_field("open_new", "must be true exactly when join is None")
    if inst.join is None and inst.merge:
        raise ValidationError.for_field("merge", "needs an incident to merge into")


@attrs.frozen
class CorrelationPlan:
    """What to do with one firing alert.

    ``join`` is the incident it joins (``None``: open a new one, ``open_new``); ``merge`` lists
    the incidents to merge into ``join`` (each then records ``merged_into = join``).
    """

    join: str | None
    merge: tuple[str, ...] = ()
    open_new: bool = attrs.field(
        default=attrs.Factory(lambda self: self.join is None, takes_self=True),
        validator=_plan_consistent,
    )


def candidate_range(
    event_time: datetime, settings: CorrelationSettings
) -> tuple[datetime, datetime]:
    """The ``(lo, hi)`` a repository must query for an alert at ``event_time``.

    Candidates are the open incidents of the alert's key with ``last_event_at >= lo`` and
    ``first_event_at <= hi`` (both bounds inclusive).
    """
    t = _check_aware("event_time", event_time)
    window = settings.window
    return t - window, t + window


def plan_correlation(
    event_time: datetime, candidates: Sequence[SessionView], settings: CorrelationSettings
) -> CorrelationPlan:
    """Decide where a firing alert at ``event_time`` goes, given its key's open incidents.

    ``candidates`` may come in any order and may include incidents out of reach (they are
    ignored); ties in ``first_event_at`` are broken by incident id so the plan is the same
    whatever order the repository returns. With ``auto_correlate`` off every alert opens its
    own incident.
    """
    t = _check_aware("event_time", event_time)
    if len({c.incident_id for c in candidates}) != len(candidates):
        raise ValidationError.for_field("candidates", "incident ids must be unique")
    if not settings.auto_correlate:
        return CorrelationPlan(join=None)
    ordered = sorted(candidates, key=lambda c: (c.first_event_at, c.incident_id))
    group = select_sessions(t, ordered, settings.window, settings.max_span)
    if not group:
        return CorrelationPlan(join=None)
    survivor = choose_survivor(group)
    merge = tuple(c.incident_id for c in group if c is not survivor)
    return CorrelationPlan(join=survivor.incident_id, merge=merge)
