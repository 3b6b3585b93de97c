"""Pure operations on :class:`Incident` records.

The service layer correlates through repositories with these functions; the in-memory
:class:`~alertwhisperer_core.Correlator` keeps the same semantics with mutable sessions for
speed. Each function returns a new record and never touches storage.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ._models import Alert, AlertStatus, Incident, IncidentStatus, Note, Resolution, TimelineEntry

__all__ = [
    "absorb_alert",
    "activate",
    "add_note",
    "assign",
    "merge_into",
    "open_incident",
    "resolve_from_source",
    "resolves",
]


def open_incident(
    *, incident_id: str, alert: Alert, key: str, now: datetime, pending: bool, in_maintenance: bool
) -> Incident:
    """A new incident whose first alert is ``alert``."""
    return Incident(
        id=incident_id,
        company_id=alert.company_id,
        key=key,
        asset_name=alert.asset_name,
        signature=alert.signature,
        severity=alert.severity,
        status=IncidentStatus.PENDING if pending else IncidentStatus.NEW,
        alert_count=1,
        tool_sources=frozenset((alert.tool_source,)),
        first_event_at=alert.event_time,
        last_event_at=alert.event_time,
        created_at=now,
        firing_fingerprints=frozenset((alert.fingerprint or "",)),
        timeline=(TimelineEntry(at=now, kind="opened", detail=f"first alert {alert.id}"),),
        in_maintenance=in_maintenance,
    )


def absorb_alert(incident: Incident, alert: Alert) -> Incident:
    """``incident`` with one more firing alert."""
    i = incident
    severity = alert.severity if alert.severity.rank > i.severity.rank else i.severity
    sources, fingerprint = i.tool_sources, alert.fingerprint or ""
    if alert.tool_source not in sources:
        sources = sources | {alert.tool_source}
    fingerprints = i.firing_fingerprints
    if fingerprint not in fingerprints:
        fingerprints = fingerprints | {fingerprint}
    t = alert.event_time
    # Built field by field rather than with attrs.evolve, which costs twice as much: this runs
    # once per correlated alert. test_incidents checks every other field is carried over.
    return Incident(
        id=i.id,
        company_id=i.company_id,
        key=i.key,
        asset_name=i.asset_name,
        signature=i.signature,
        severity=severity,
        status=i.status,
        alert_count=i.alert_count + 1,
        tool_sources=sources,
        first_event_at=t if t < i.first_event_at else i.first_event_at,
        last_event_at=t if t > i.last_event_at else i.last_event_at,
        created_at=i.created_at,
        alert_ids=i.alert_ids,
        firing_fingerprints=fingerprints,
        resolution=i.resolution,
        resolved_at=i.resolved_at,
        assigned_to=i.assigned_to,
        notes=i.notes,
        timeline=i.timeline,
        merged_into=i.merged_into,
        in_maintenance=i.in_maintenance,
    )


def activate(incident: Incident, now: datetime) -> Incident:
    """A pending group that reached ``min_alerts`` becomes a listed, new incident."""
    return attrs.evolve(
        incident,
        status=IncidentStatus.NEW,
        timeline=(*incident.timeline, TimelineEntry(at=now, kind="activated")),
    )


def merge_into(target: Incident, other: Incident, now: datetime) -> tuple[Incident, Incident]:
    """Merge ``other`` (the later session) into ``target``; returns both updated records."""
    severity = other.severity if other.severity.rank > target.severity.rank else target.severity
    # A merged group is visible if either half was: it holds every alert of both.
    status = target.status
    if status is IncidentStatus.PENDING and other.status is not IncidentStatus.PENDING:
        status = other.status
    merged = attrs.evolve(
        target,
        alert_count=target.alert_count + other.alert_count,
        severity=severity,
        status=status,
        tool_sources=target.tool_sources | other.tool_sources,
        first_event_at=min(target.first_event_at, other.first_event_at),
        last_event_at=max(target.last_event_at, other.last_event_at),
        firing_fingerprints=target.firing_fingerprints | other.firing_fingerprints,
        assigned_to=target.assigned_to or other.assigned_to,
        notes=target.notes + other.notes,
        timeline=(*target.timeline, TimelineEntry(at=now, kind="merged", detail=other.id)),
    )
    absorbed = attrs.evolve(
        other,
        merged_into=target.id,
        timeline=(*other.timeline, TimelineEntry(at=now, kind="merged_into", detail=target.id)),
    )
    return merged, absorbed


def resolves(alert: Alert, incident: Incident) -> bool:
    """Whether resolved ``alert`` resolves some firing alert of ``incident`` (same key assumed).

    A resolved alert with a fingerprint resolves only alerts with that fingerprint; one without
    a fingerprint resolves every firing alert of the key.
    """
    if alert.status is not AlertStatus.RESOLVED or not incident.is_open:
        return False
    if alert.fingerprint is None:
        return bool(incident.firing_fingerprints)
    return alert.fingerprint in incident.firing_fingerprints


def resolve_from_source(incident: Incident, alert: Alert, now: datetime) -> Incident:
    """Apply a source's resolved alert; resolves the incident when nothing fires any more."""
    if alert.fingerprint is None:
        firing: frozenset[str] = frozenset()
    else:
        firing = incident.firing_fingerprints - {alert.fingerprint}
    # A recovery is listed among the incident's alerts but is not counted in ``alert_count``,
    # which counts firing alerts (what the priority's duplicate factor measures).
    updated = attrs.evolve(incident, firing_fingerprints=firing)
    if firing:
        return updated
    return attrs.evolve(
        updated,
        status=IncidentStatus.RESOLVED,
        resolution=Resolution.SOURCE_RECOVERED,
        resolved_at=now,
        timeline=(
            *updated.timeline,
            TimelineEntry(at=now, kind="resolved", detail="source_recovered"),
        ),
    )


def assign(incident: Incident, user_id: str, now: datetime) -> Incident:
    """Assign ``incident`` to ``user_id`` and record it on the timeline."""
    return attrs.evolve(
        incident,
        assigned_to=user_id,
        timeline=(*incident.timeline, TimelineEntry(at=now, kind="assigned", detail=user_id)),
    )


def add_note(incident: Incident, note: Note) -> Incident:
    """``incident`` with ``note`` appended."""
    return attrs.evolve(
        incident,
        notes=(*incident.notes, note),
        timeline=(
            *incident.timeline,
            TimelineEntry(at=note.created_at, kind="note", detail=note.author_name),
        ),
    )
