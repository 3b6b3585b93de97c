"""Rows ↔ domain records. The core never sees a row; the tables never see a record.

Each record kind has the tuple of columns selected to read it (``*_COLUMNS``) and a pair of
functions: ``*_row`` (record → insert parameters) and ``*_from_row`` (row → record, unpacking
the row in the column order given). Nested values (labels, notes, timeline, settings, …) are
JSON text encoded with msgspec; their instants are RFC 3339 UTC strings inside the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import cattrs
import msgspec
from sqlalchemy import Column

from alertwhisperer_core import (
    Alert,
    AlertStatus,
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    AuditEntry,
    Company,
    CompanySettings,
    HealthCheck,
    Incident,
    IncidentStatus,
    Note,
    Resolution,
    Risk,
    Role,
    Runbook,
    Severity,
    TimelineEntry,
    User,
)
from alertwhisperer_core._idempotency import DeliveryRecord

from . import _schema as s

__all__ = [
    "ALERT_COLUMNS",
    "APPROVAL_COLUMNS",
    "ASSET_COLUMNS",
    "AUDIT_COLUMNS",
    "COMPANY_COLUMNS",
    "DELIVERY_COLUMNS",
    "INCIDENT_COLUMNS",
    "RUNBOOK_COLUMNS",
    "USER_COLUMNS",
    "alert_from_row",
    "alert_row",
    "approval_from_row",
    "approval_row",
    "asset_from_row",
    "asset_row",
    "audit_from_row",
    "audit_row",
    "company_from_row",
    "company_row",
    "delivery_from_row",
    "delivery_row",
    "incident_from_row",
    "incident_row",
    "runbook_from_row",
    "runbook_row",
    "user_from_row",
    "user_row",
]

_ENC = msgspec.json.Encoder()
_settings = cattrs.Converter()


class _NoteJson(msgspec.Struct, array_like=True):
    author_id: str
    author_name: str
    text: str
    created_at: datetime


class _EntryJson(msgspec.Struct, array_like=True):
    at: datetime
    kind: str
    detail: str


class _HealthCheckJson(msgspec.Struct):
    kind: str
    url: str | None
    expected_status: int
    command: str | None


_labels = msgspec.json.Decoder(dict[str, str])
_strings = msgspec.json.Decoder(list[str])
_notes = msgspec.json.Decoder(list[_NoteJson])
_timeline = msgspec.json.Decoder(list[_EntryJson])
_health = msgspec.json.Decoder(_HealthCheckJson)
_details = msgspec.json.Decoder(dict[str, Any])


def _json(value: object) -> str:
    return _ENC.encode(value).decode()


def _columns(table: Any, *names: str) -> tuple[Column[Any], ...]:
    return tuple(table.c[name] for name in names)


# --- companies -------------------------------------------------------------------------------

COMPANY_COLUMNS = _columns(
    s.companies, "id", "name", "created_at", "settings", "api_key_hash", "hmac_enabled"
)


def company_row(company: Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "name": company.name,
        "created_at": company.created_at,
        "settings": _json(_settings.unstructure(company.settings)),
        "api_key_hash": company.api_key_hash,
        "hmac_enabled": company.hmac_enabled,
    }


def company_from_row(row: Sequence[Any]) -> Company:
    id_, name, created_at, settings, api_key_hash, hmac_enabled = row
    return Company(
        id=id_,
        name=name,
        created_at=created_at,
        settings=_settings.structure(msgspec.json.decode(settings), CompanySettings),
        api_key_hash=api_key_hash,
        hmac_enabled=bool(hmac_enabled),
    )


# --- assets ----------------------------------------------------------------------------------

ASSET_COLUMNS = _columns(
    s.assets,
    "id",
    "company_id",
    "name",
    "type",
    "os",
    "environment",
    "is_critical",
    "instance_id",
    "tags",
)


def asset_row(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "company_id": asset.company_id,
        "name": asset.name,
        "type": asset.type,
        "os": asset.os,
        "environment": asset.environment,
        "is_critical": asset.is_critical,
        "instance_id": asset.instance_id,
        "tags": _json(asset.tags),
    }


def asset_from_row(row: Sequence[Any]) -> Asset:
    id_, company_id, name, type_, os_, environment, is_critical, instance_id, tags = row
    return Asset(
        id=id_,
        company_id=company_id,
        name=name,
        type=type_,
        os=os_,
        environment=environment,
        is_critical=bool(is_critical),
        instance_id=instance_id,
        tags=tuple(_strings.decode(tags)),
    )


# --- alerts ----------------------------------------------------------------------------------

ALERT_COLUMNS = _columns(
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

INCIDENT_COLUMNS = _columns(
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


def incident_row(incident: Incident) -> dict[str, Any]:
    """Insert/update parameters; ``alert_ids`` is not stored (membership lives on alerts)."""
    last_assigned_at = None
    if incident.assigned_to is not None:
        last_assigned_at = max(
            (t.at for t in incident.timeline if t.kind == "assigned"),
            default=incident.created_at,
        )
    return {
        "id": incident.id,
        "company_id": incident.company_id,
        "key": incident.key,
        "asset_name": incident.asset_name,
        "signature": incident.signature,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "alert_count": incident.alert_count,
        "tool_sources": _json(sorted(incident.tool_sources)),
        "first_event_at": incident.first_event_at,
        "last_event_at": incident.last_event_at,
        "created_at": incident.created_at,
        "firing_fingerprints": _json(sorted(incident.firing_fingerprints)),
        "resolution": incident.resolution.value if incident.resolution else None,
        "resolved_at": incident.resolved_at,
        "assigned_to": incident.assigned_to,
        "notes": _json(
            [_NoteJson(n.author_id, n.author_name, n.text, n.created_at) for n in incident.notes]
        ),
        "timeline": _json([_EntryJson(t.at, t.kind, t.detail) for t in incident.timeline]),
        "merged_into": incident.merged_into,
        "in_maintenance": incident.in_maintenance,
        "is_open": incident.is_open,
        "last_assigned_at": last_assigned_at,
    }


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
        tool_sources=frozenset(_strings.decode(tool_sources)),
        first_event_at=first_event_at,
        last_event_at=last_event_at,
        created_at=created_at,
        firing_fingerprints=frozenset(_strings.decode(firing)),
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

DELIVERY_COLUMNS = _columns(
    s.deliveries, "delivery_id", "company_id", "alert_ids", "incident_ids", "first_seen_at"
)


def delivery_row(record: DeliveryRecord, expires_at: datetime) -> dict[str, Any]:
    return {
        "company_id": record.company_id,
        "delivery_id": record.delivery_id,
        "alert_ids": _json(record.alert_ids),
        "incident_ids": _json(record.incident_ids),
        "first_seen_at": record.first_seen_at,
        "expires_at": expires_at,
    }


def delivery_from_row(row: Sequence[Any]) -> DeliveryRecord:
    delivery_id, company_id, alert_ids, incident_ids, first_seen_at = row
    return DeliveryRecord(
        delivery_id=delivery_id,
        company_id=company_id,
        alert_ids=tuple(_strings.decode(alert_ids)),
        incident_ids=tuple(_strings.decode(incident_ids)),
        first_seen_at=first_seen_at,
    )


# --- users -----------------------------------------------------------------------------------

USER_COLUMNS = _columns(s.users, "id", "email", "name", "role", "password_hash", "active")


def user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        # Python's lower(), not the database's: lookups match the in-memory store exactly.
        "email_lc": user.email.lower(),
        "name": user.name,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "active": user.active,
    }


def user_from_row(row: Sequence[Any], company_ids: frozenset[str]) -> User:
    id_, email, name, role, password_hash, active = row
    return User(
        id=id_,
        email=email,
        name=name,
        role=Role(role),
        company_ids=company_ids,
        password_hash=password_hash,
        active=bool(active),
    )


# --- runbooks --------------------------------------------------------------------------------

RUNBOOK_COLUMNS = _columns(
    s.runbooks,
    "id",
    "name",
    "signature",
    "risk",
    "actions",
    "description",
    "health_check",
    "timeout_seconds",
    "company_id",
)


def runbook_row(runbook: Runbook) -> dict[str, Any]:
    check = runbook.health_check
    return {
        "id": runbook.id,
        "company_id": runbook.company_id,
        "name": runbook.name,
        "signature": runbook.signature,
        "risk": runbook.risk.value,
        "actions": _json(runbook.actions),
        "description": runbook.description,
        "health_check": None
        if check is None
        else _json(_HealthCheckJson(check.kind, check.url, check.expected_status, check.command)),
        "timeout_seconds": runbook.timeout_seconds,
    }


def runbook_from_row(row: Sequence[Any]) -> Runbook:
    (
        id_,
        name,
        signature,
        risk,
        actions,
        description,
        health_check,
        timeout_seconds,
        company_id,
    ) = row
    check = None
    if health_check is not None:
        h = _health.decode(health_check)
        check = HealthCheck(
            kind=h.kind, url=h.url, expected_status=h.expected_status, command=h.command
        )
    return Runbook(
        id=id_,
        name=name,
        signature=signature,
        risk=Risk(risk),
        actions=tuple(_strings.decode(actions)),
        description=description,
        health_check=check,
        timeout_seconds=timeout_seconds,
        company_id=company_id,
    )


# --- approvals -------------------------------------------------------------------------------

APPROVAL_COLUMNS = _columns(
    s.approvals,
    "id",
    "company_id",
    "incident_id",
    "runbook_id",
    "risk",
    "requested_by",
    "status",
    "created_at",
    "expires_at",
    "decided_by",
    "decided_at",
    "notes",
)


def approval_row(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "company_id": request.company_id,
        "incident_id": request.incident_id,
        "runbook_id": request.runbook_id,
        "risk": request.risk.value,
        "requested_by": request.requested_by,
        "status": request.status.value,
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
        "notes": request.notes,
    }


def approval_from_row(row: Sequence[Any]) -> ApprovalRequest:
    (
        id_,
        company_id,
        incident_id,
        runbook_id,
        risk,
        requested_by,
        status,
        created_at,
        expires_at,
        decided_by,
        decided_at,
        notes,
    ) = row
    return ApprovalRequest(
        id=id_,
        company_id=company_id,
        incident_id=incident_id,
        runbook_id=runbook_id,
        risk=Risk(risk),
        requested_by=requested_by,
        status=ApprovalStatus(status),
        created_at=created_at,
        expires_at=expires_at,
        decided_by=decided_by,
        decided_at=decided_at,
        notes=notes,
    )


# --- audit -----------------------------------------------------------------------------------

AUDIT_COLUMNS = _columns(
    s.audit, "id", "timestamp", "user_id", "user_name", "action", "details", "company_id"
)


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "timestamp": entry.timestamp,
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "action": entry.action,
        "details": _json(entry.details),
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
