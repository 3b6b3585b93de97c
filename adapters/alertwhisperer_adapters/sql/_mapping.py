"""Rows ↔ domain records for alerts, incidents, deliveries and audit (the ingest path).

The core never sees a row; the tables never see a record. The directory's records
(companies, assets, users, runbooks, approvals) are in :mod:`._mapping_directory`.

Each record kind has the tuple of columns selected to read it (``*_COLUMNS``) and a pair of
functions: ``*_row`` (record → insert parameters) and ``*_from_row`` (row → record, unpacking
the row in the column order given). Nested values (labels, notes, timeline, settings, …) are
JSON text encoded with msgspec; their instants are RFC 3339 UTC strings inside the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Column

from alertwhisperer_core import (
    Alert,
    AlertStatus,
    AuditEntry,
    Incident,
    IncidentStatus,
    Note,
    Resolution,
    Severity,
    TimelineEntry,
)
from alertwhisperer_core._idempotency import DeliveryRecord

from . import _schema as s

__all__ = [
    "ALERT_COLUMNS",
    "AUDIT_COLUMNS",
    "DELIVERY_COLUMNS",
    "INCIDENT_COLUMNS",
    "alert_from_row",
    "alert_row",
    "audit_from_row",
    "audit_row",
    "columns",
    "delivery_from_row",
    "delivery_row",
    "incident_from_row",
    "incident_row",
    "json_text",
    "strings",
]

_ENC = msgspec.json.Encoder()


class _NoteJson(msgspec.Struct, array_like=True):
    author_id: str
    author_name: str
    text: str
    created_at: datetime


class _EntryJson(msgspec.Struct, array_like=True):
    at: datetime
    kind: str
    detail: str


_labels = msgspec.json.Decoder(dict[str, str])
strings = msgspec.json.Decoder(list[str])
_notes = msgspec.json.Decoder(list[_NoteJson])
_timeline = msgspec.json.Decoder(list[_EntryJson])
_details = msgspec.json.Decoder(dict[str, Any])


def json_text(value: object) -> str:
    return _ENC.encode(value).decode()


def columns(table: Any, *names: str) -> tuple[Column[Any], ...]:
    return tuple(table.c[name] for name in names)


# --- alerts ----------------------------------------------------------------------------------

ALERT_COLUMNS = columns(
    s.alerts,
    "id",
    "company_id",
    "asset_name",
    "signature",
    "severity",
    "status",
    "message",
    "tool_source",
    "event_time",
    "received_at",
    "labels",
    "delivery_id",
    "fingerprint",
    "source",
    "event_time_clamped",
    "raw",
    "incident_id",
)


def alert_row(alert: Alert, incident_id: str | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "company_id": alert.company_id,
        "incident_id": incident_id,
        "asset_name": alert.asset_name,
        "signature": alert.signature,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "message": alert.message,
        "tool_source": alert.tool_source,
        "event_time": alert.event_time,
        "received_at": alert.received_at,
        "labels": _ENC.encode(alert.labels).decode(),
        "delivery_id": alert.delivery_id,
        "fingerprint": alert.fingerprint,
        "source": alert.source,
        "event_time_clamped": alert.event_time_clamped,
        "raw": alert.raw,
    }


def alert_from_row(row: Sequence[Any]) -> tuple[Alert, str | None]:
    (
        id_,
        company_id,
        asset_name,
        signature,
        severity,
        status,
        message,
        tool_source,
        event_time,
        received_at,
        labels,
        delivery_id,
        fingerprint,
        source,
        clamped,
        raw,
        incident_id,
    ) = row
    alert = Alert(
        id=id_,
        company_id=company_id,
        asset_name=asset_name,
        signature=signature,
        severity=Severity(severity),
        status=AlertStatus(status),
        message=message,
        tool_source=tool_source,
        event_time=event_time,
        received_at=received_at,
        labels=_labels.decode(labels),
        delivery_id=delivery_id,
        fingerprint=fingerprint,
        source=source,
        event_time_clamped=bool(clamped),
        raw=bytes(raw),
    )
    return alert, incident_id


# --- incidents -------------------------------------------------------------------------------

INCIDENT_COLUMNS = columns(
    s.incidents,
    "id",
    "company_id",
    "key",
    "asset_name",
    "signature",
    "severity",
    "status",
    "alert_count",
    "tool_sources",
    "first_event_at",
    "last_event_at",
    "created_at",
    "firing_fingerprints",
    "resolution",
    "resolved_at",
    "assigned_to",
    "notes",
    "timeline",
    "merged_into",
    "in_maintenance",
)


def _sorted_json(values: frozenset[str]) -> str:
    return json_text(sorted(values))


def _value(member: Severity | IncidentStatus) -> str:
    return member.value


def _resolution(resolution: Resolution | None) -> str | None:
    return resolution.value if resolution else None


def _notes_json(notes: Sequence[Note]) -> str:
    return json_text([_NoteJson(n.author_id, n.author_name, n.text, n.created_at) for n in notes])


def _timeline_json(timeline: Sequence[TimelineEntry]) -> str:
    return json_text([_EntryJson(t.at, t.kind, t.detail) for t in timeline])


# Each stored field of an incident after ``id``, in column order, with how its column value is
# made from it (None: as it is). ``alert_ids`` is not stored: membership lives on the alerts.
_INCIDENT_FIELDS: tuple[tuple[str, Any], ...] = (
    ("company_id", None),
    ("key", None),
    ("asset_name", None),
    ("signature", None),
    ("severity", _value),
    ("status", _value),
    ("alert_count", None),
    ("tool_sources", _sorted_json),
    ("first_event_at", None),
    ("last_event_at", None),
    ("created_at", None),
    ("firing_fingerprints", _sorted_json),
    ("resolution", _resolution),
    ("resolved_at", None),
    ("assigned_to", None),
    ("notes", _notes_json),
    ("timeline", _timeline_json),
    ("merged_into", None),
    ("in_maintenance", None),
)


def _last_assigned_at(incident: Incident) -> datetime | None:
    """The derived column: the latest "assigned" timeline entry (else created_at), if assigned."""
    if incident.assigned_to is None:
        return None
    return max(
        (t.at for t in incident.timeline if t.kind == "assigned"), default=incident.created_at
    )


def incident_row(incident: Incident) -> dict[str, Any]:
    """Insert/update parameters of every column."""
    row: dict[str, Any] = {"id": incident.id}
    for field, encode in _INCIDENT_FIELDS:
        value = getattr(incident, field)
        row[field] = value if encode is None else encode(value)
    row["is_open"] = incident.is_open
    row["last_assigned_at"] = _last_assigned_at(incident)
    return row


def incident_changes(
    incident: Incident, stored: Incident
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The columns where ``incident`` differs from the ``stored`` copy of it (what the
    database holds), and the parameters of :meth:`~._dialects.Dialect.update_incident` that
    write just those. Compared field by field, so an unchanged timeline, note list or set is
    never encoded (most updates change a count and a time)."""
    columns: list[str] = []
    params: dict[str, Any] = {"id": incident.id}
    for field, encode in _INCIDENT_FIELDS:
        value = getattr(incident, field)
        old = getattr(stored, field)
        if value is old or value == old:
            continue
        columns.append(field)
        params[f"v_{field}"] = value if encode is None else encode(value)
    if incident.is_open != stored.is_open:
        columns.append("is_open")
        params["v_is_open"] = incident.is_open
    if "assigned_to" in columns or "timeline" in columns:
        assigned_at = _last_assigned_at(incident)
        if assigned_at != _last_assigned_at(stored):
            columns.append("last_assigned_at")
            params["v_last_assigned_at"] = assigned_at
    return tuple(columns), params


def incident_from_row(row: Sequence[Any]) -> Incident:
    (
        id_,
        company_id,
        key,
        asset_name,
        signature,
        severity,
        status,
        alert_count,
        tool_sources,
        first_event_at,
        last_event_at,
        created_at,
        firing,
        resolution,
        resolved_at,
        assigned_to,
        notes,
        timeline,
        merged_into,
        in_maintenance,
    ) = row
    return Incident(
        id=id_,
        company_id=company_id,
        key=key,
        asset_name=asset_name,
        signature=signature,
        severity=Severity(severity),
        status=IncidentStatus(status),
        alert_count=alert_count,
        tool_sources=frozenset(strings.decode(tool_sources)),
        first_event_at=first_event_at,
        last_event_at=last_event_at,
        created_at=created_at,
        firing_fingerprints=frozenset(strings.decode(firing)),
        resolution=Resolution(resolution) if resolution is not None else None,
        resolved_at=resolved_at,
        assigned_to=assigned_to,
        notes=tuple(
            Note(
                author_id=n.author_id,
                author_name=n.author_name,
                text=n.text,
                created_at=n.created_at,
            )
            for n in _notes.decode(notes)
        ),
        timeline=tuple(
            TimelineEntry(at=t.at, kind=t.kind, detail=t.detail) for t in _timeline.decode(timeline)
        ),
        merged_into=merged_into,
        in_maintenance=bool(in_maintenance),
    )


# --- deliveries ------------------------------------------------------------------------------

DELIVERY_COLUMNS = columns(
    s.deliveries, "delivery_id", "company_id", "alert_ids", "incident_ids", "first_seen_at"
)


def delivery_row(record: DeliveryRecord, expires_at: datetime) -> dict[str, Any]:
    return {
        "company_id": record.company_id,
        "delivery_id": record.delivery_id,
        "alert_ids": json_text(record.alert_ids),
        "incident_ids": json_text(record.incident_ids),
        "first_seen_at": record.first_seen_at,
        "expires_at": expires_at,
    }


def delivery_from_row(row: Sequence[Any]) -> DeliveryRecord:
    delivery_id, company_id, alert_ids, incident_ids, first_seen_at = row
    return DeliveryRecord(
        delivery_id=delivery_id,
        company_id=company_id,
        alert_ids=tuple(strings.decode(alert_ids)),
        incident_ids=tuple(strings.decode(incident_ids)),
        first_seen_at=first_seen_at,
    )


# --- audit -----------------------------------------------------------------------------------

AUDIT_COLUMNS = columns(
    s.audit, "id", "timestamp", "user_id", "user_name", "action", "details", "company_id"
)


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "timestamp": entry.timestamp,
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "action": entry.action,
        "details": json_text(entry.details),
        "company_id": entry.company_id,
    }


def audit_from_row(row: Sequence[Any]) -> AuditEntry:
    id_, timestamp, user_id, user_name, action, details, company_id = row
    return AuditEntry(
        id=id_,
        timestamp=timestamp,
        user_id=user_id,
        user_name=user_name,
        action=action,
        details=_details.decode(details),
        company_id=company_id,
    )
