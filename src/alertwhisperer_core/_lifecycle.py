"""The incident lifecycle as a transition table, and the Mermaid rendering of any such table.

``INCIDENT_TRANSITIONS[status][event]`` is the status an event leads to; anything absent is
refused with :class:`~alertwhisperer_core.errors.InvalidTransition`. Decisions recorded here:

- ``pending`` is the state of a group below the company's ``min_alerts``. It becomes ``new``
  when it reaches the count (``activate``), or ``resolved`` when its alerts recover first
  (``resolve``; it was never listed). Users never move a pending group: it is not visible.
- ``in_progress → new`` (``requeue``) is allowed: a technician can hand an incident back to
  the queue. It changes nothing the KPIs measure (MTTR runs from creation to resolution).
- ``resolved`` is terminal: an incident is never reopened (SPEC §3); a later alert opens a
  new incident.
- Repeating the current status is not a transition; a caller that wants ``PATCH`` to be
  idempotent compares before calling.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

from ._models import IncidentStatus
from .errors import InvalidTransition

__all__ = [
    "INCIDENT_TRANSITIONS",
    "USER_INCIDENT_EVENTS",
    "IncidentEvent",
    "apply_incident_event",
    "incident_state_diagram",
    "mermaid_state_diagram",
    "transition_incident",
]


class IncidentEvent(enum.StrEnum):
    ACTIVATE = "activate"
    START = "start"
    RESOLVE = "resolve"
    REQUEUE = "requeue"


_S = IncidentStatus
_E = IncidentEvent

INCIDENT_TRANSITIONS: Mapping[IncidentStatus, Mapping[IncidentEvent, IncidentStatus]] = (
    MappingProxyType(
        {
            _S.PENDING: MappingProxyType({_E.ACTIVATE: _S.NEW, _E.RESOLVE: _S.RESOLVED}),
            _S.NEW: MappingProxyType({_E.START: _S.IN_PROGRESS, _E.RESOLVE: _S.RESOLVED}),
            _S.IN_PROGRESS: MappingProxyType({_E.RESOLVE: _S.RESOLVED, _E.REQUEUE: _S.NEW}),
            _S.RESOLVED: MappingProxyType({}),
        }
    )
)
"""Every incident status maps to the events it accepts; ``resolved`` accepts none."""

USER_INCIDENT_EVENTS: frozenset[IncidentEvent] = frozenset({_E.START, _E.RESOLVE, _E.REQUEUE})
"""Events a person may cause by setting a status; ``activate`` belongs to the correlator."""

_MACHINE = "incident"


def apply_incident_event(status: IncidentStatus, event: IncidentEvent) -> IncidentStatus:
    """Return the status ``event`` leads to from ``status``.

    Raises :class:`InvalidTransition` when the table has no such transition.
    """
    target = INCIDENT_TRANSITIONS[status].get(event)
    if target is None:
        raise InvalidTransition(_MACHINE, status, event)
    return target


def transition_incident(status: IncidentStatus, target: IncidentStatus) -> IncidentStatus:
    """Return ``target`` if a person may move an incident from ``status`` to it.

    This is the status change of ``PATCH /api/incidents/{id}``: only the events in
    :data:`USER_INCIDENT_EVENTS` count, so a pending group cannot be moved and nothing leaves
    ``resolved``. Raises :class:`InvalidTransition` (event ``"move to <target>"``) otherwise.
    """
    # A pending group is not listed, so nobody can have asked to move it.
    if status is not IncidentStatus.PENDING:
        for event, reached in INCIDENT_TRANSITIONS[status].items():
            if reached is target and event in USER_INCIDENT_EVENTS:
                return target
    raise InvalidTransition(_MACHINE, status, f"move to {target}")


def incident_state_diagram() -> str:
    """The incident lifecycle as a Mermaid ``stateDiagram-v2``, generated from the table."""
    return mermaid_state_diagram(IncidentStatus.PENDING, INCIDENT_TRANSITIONS)


_State = TypeVar("_State", bound=str)
_Event = TypeVar("_Event", bound=str)


def mermaid_state_diagram(
    initial: _State, transitions: Mapping[_State, Mapping[_Event, _State]]
) -> str:
    """Render a transition table as Mermaid ``stateDiagram-v2`` text.

    States appear in the table's order, edges in each state's event order, and every state
    without outgoing edges is marked final, so the text changes only when the table does.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {initial}"]
    for state, edges in transitions.items():
        lines.extend(f"    {state} --> {target} : {event}" for event, target in edges.items())
    lines.extend(f"    {state} --> [*]" for state, edges in transitions.items() if not edges)
    return "\n".join(lines) + "\n"
