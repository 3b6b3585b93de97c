"""Documents ↔ domain records. The core never sees a document; the collections never see a record.

Instants are stored as integer microseconds since the Unix epoch, not as BSON dates: a BSON
date keeps milliseconds only, and the core's instants (event times, cursors, sort keys) keep
microseconds, so two alerts a microsecond apart must sort and compare exactly as they do in
memory. The one BSON date in each expiring collection is ``purge_at``, read only by MongoDB's
TTL monitor.

Values a query never looks into and whose keys are arbitrary text (alert labels, audit details)
are kept as a list of pairs or as JSON text, so no key can collide with MongoDB's operators or
dotted paths. Lower-cased copies of searchable text (``*_lc``) are written with Python's
``str.lower``, so ``q`` searches match the in-memory store exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cattrs
import msgspec

from alertwhisperer_core import (
    Alert,
    AlertStatus,
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    AuditEntry,
    Company,
    CompanySettings,
    Execution,
    ExecutionStatus,
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
from alertwhisperer_core.ports import AuthToken, LoginAttempts

__all__ = [
    "Doc",
    "alert_doc",
    "alert_from_doc",
    "approval_doc",
    "approval_from_doc",
    "asset_doc",
    "asset_from_doc",
    "audit_doc",
    "audit_from_doc",
    "company_doc",
    "company_from_doc",
    "delivery_doc",
    "delivery_from_doc",
    "execution_doc",
    "execution_from_doc",
    "from_micros",
    "incident_doc",
    "incident_from_doc",
    "login_attempts_doc",
    "login_attempts_from_doc",
    "micros",
    "opt_micros",
    "runbook_doc",
    "runbook_from_doc",
    "token_doc",
    "token_from_doc",
    "user_doc",
    "user_from_doc",
]

Doc = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_settings = cattrs.Converter()
_details = msgspec.json.Decoder(dict[str, Any])


def micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime; a naive one is a programming error."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store keeps UTC instants only")
    return (value - _EPOCH) // _MICROSECOND


def opt_micros(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


def from_micros(value: int) -> datetime:
    """The aware UTC datetime of :func:`micros`."""
    return _EPOCH + timedelta(microseconds=value)


def _opt_from_micros(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


# --- companies and assets ----------------------------------------------------------------------


def company_doc(company: Company) -> Doc:
    return {
        "_id": company.id,
        "name": company.name,
        "created_at": micros(company.created_at),
        "settings": _settings.unstructure(company.settings),
        "api_key_hash": company.api_key_hash,
        "hmac_enabled": company.hmac_enabled,
    }


def company_from_doc(doc: Doc) -> Company:
    return Company(
        id=doc["_id"],
        name=doc["name"],
        created_at=from_micros(doc["created_at"]),
        settings=_settings.structure(doc["settings"], CompanySettings),
        api_key_hash=doc["api_key_hash"],
        hmac_enabled=doc["hmac_enabled"],
    )


def asset_doc(asset: Asset) -> Doc:
    return {
        "_id": asset.id,
        "company_id": asset.company_id,
        "name": asset.name,
        "type": asset.type,
        "os": asset.os,
        "environment": asset.environment,
        "is_critical": asset.is_critical,
        "instance_id": asset.instance_id,
        "tags": list(asset.tags),
    }


def asset_from_doc(doc: Doc) -> Asset:
    return Asset(
        id=doc["_id"],
        company_id=doc["company_id"],
        name=doc["name"],
        type=doc["type"],
        os=doc["os"],
        environment=doc["environment"],
        is_critical=doc["is_critical"],
        instance_id=doc["instance_id"],
        tags=tuple(doc["tags"]),
    )


# --- alerts ------------------------------------------------------------------------------------


def alert_doc(alert: Alert, incident_id: str | None, member_seq: int | None) -> Doc:
    """``member_seq`` orders the alerts of one incident (see the unit of work's flush)."""
    return {
        "_id": alert.id,
        "company_id": alert.company_id,
        "incident_id": incident_id,
        "member_seq": member_seq,
        "asset_name": alert.asset_name,
        "signature": alert.signature,
        "signature_lc": alert.signature.lower(),
        "severity": alert.severity.value,
        "status": alert.status.value,
        "message": alert.message,
        "message_lc": alert.message.lower(),
        "tool_source": alert.tool_source,
        "event_time": micros(alert.event_time),
        "received_at": micros(alert.received_at),
        "labels": [[k, v] for k, v in alert.labels.items()],
        "delivery_id": alert.delivery_id,
        "fingerprint": alert.fingerprint,
        "source": alert.source,
        "event_time_clamped": alert.event_time_clamped,
        "raw": alert.raw,
    }


def alert_from_doc(doc: Doc) -> tuple[Alert, str | None]:
    alert = Alert(
        id=doc["_id"],
        company_id=doc["company_id"],
        asset_name=doc["asset_name"],
        signature=doc["signature"],
        severity=Severity(doc["severity"]),
        status=AlertStatus(doc["status"]),
        message=doc["message"],
        tool_source=doc["tool_source"],
        event_time=from_micros(doc["event_time"]),
        received_at=from_micros(doc["received_at"]),
        labels=dict(doc["labels"]),
        delivery_id=doc["delivery_id"],
        fingerprint=doc["fingerprint"],
        source=doc["source"],
        event_time_clamped=doc["event_time_clamped"],
        raw=bytes(doc["raw"]),
    )
    return alert, doc["incident_id"]


# --- incidents ---------------------------------------------------------------------------------


def incident_doc(incident: Incident) -> Doc:
    """Every field but ``_id`` and the storage rank ``seq`` (set once, on insert).

    ``alert_ids`` is not stored: membership lives on the alerts. ``is_open`` and
    ``last_assigned_at`` are derived here so indexes can serve correlation and routing.
    """
    last_assigned_at = None
    if incident.assigned_to is not None:
        last_assigned_at = max(
            (t.at for t in incident.timeline if t.kind == "assigned"),
            default=incident.created_at,
        )
    return {
        "company_id": incident.company_id,
        "key": incident.key,
        "asset_name": incident.asset_name,
        "asset_name_lc": incident.asset_name.lower(),
        "signature": incident.signature,
        "signature_lc": incident.signature.lower(),
        "severity": incident.severity.value,
        "status": incident.status.value,
        "alert_count": incident.alert_count,
        "tool_sources": sorted(incident.tool_sources),
        "first_event_at": micros(incident.first_event_at),
        "last_event_at": micros(incident.last_event_at),
        "created_at": micros(incident.created_at),
        "firing_fingerprints": sorted(incident.firing_fingerprints),
        "resolution": incident.resolution.value if incident.resolution else None,
        "resolved_at": opt_micros(incident.resolved_at),
        "assigned_to": incident.assigned_to,
        "notes": [
            {
                "author_id": n.author_id,
                "author_name": n.author_name,
                "text": n.text,
                "created_at": micros(n.created_at),
            }
            for n in incident.notes
        ],
        "timeline": [
            {"at": micros(t.at), "kind": t.kind, "detail": t.detail} for t in incident.timeline
        ],
        "merged_into": incident.merged_into,
        "in_maintenance": incident.in_maintenance,
        "is_open": incident.is_open,
        "last_assigned_at": opt_micros(last_assigned_at),
    }


def incident_from_doc(doc: Doc) -> Incident:
    resolution = doc["resolution"]
    return Incident(
        id=doc["_id"],
        company_id=doc["company_id"],
        key=doc["key"],
        asset_name=doc["asset_name"],
        signature=doc["signature"],
        severity=Severity(doc["severity"]),
        status=IncidentStatus(doc["status"]),
        alert_count=doc["alert_count"],
        tool_sources=frozenset(doc["tool_sources"]),
        first_event_at=from_micros(doc["first_event_at"]),
        last_event_at=from_micros(doc["last_event_at"]),
        created_at=from_micros(doc["created_at"]),
        firing_fingerprints=frozenset(doc["firing_fingerprints"]),
        resolution=None if resolution is None else Resolution(resolution),
        resolved_at=_opt_from_micros(doc["resolved_at"]),
        assigned_to=doc["assigned_to"],
        notes=tuple(
            Note(
                author_id=n["author_id"],
                author_name=n["author_name"],
                text=n["text"],
                created_at=from_micros(n["created_at"]),
            )
            for n in doc["notes"]
        ),
        timeline=tuple(
            TimelineEntry(at=from_micros(t["at"]), kind=t["kind"], detail=t["detail"])
            for t in doc["timeline"]
        ),
        merged_into=doc["merged_into"],
        in_maintenance=doc["in_maintenance"],
    )


# --- deliveries --------------------------------------------------------------------------------


def delivery_doc(record: DeliveryRecord, expires_at: datetime) -> Doc:
    """Every field but the key (``company_id``, ``delivery_id``) and ``purge_at``."""
    return {
        "alert_ids": list(record.alert_ids),
        "incident_ids": list(record.incident_ids),
        "first_seen_at": micros(record.first_seen_at),
        "expires_at": micros(expires_at),
    }


def delivery_from_doc(doc: Doc) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=doc["delivery_id"],
        company_id=doc["company_id"],
        alert_ids=tuple(doc["alert_ids"]),
        incident_ids=tuple(doc["incident_ids"]),
        first_seen_at=from_micros(doc["first_seen_at"]),
    )


# --- users, runbooks, approvals, audit ---------------------------------------------------------


def user_doc(user: User) -> Doc:
    return {
        "_id": user.id,
        "email": user.email,
        # Python's lower(), not the database's: look-ups match the in-memory store exactly.
        "email_lc": user.email.lower(),
        "name": user.name,
        "role": user.role.value,
        "company_ids": sorted(user.company_ids),
        "password_hash": user.password_hash,
        "active": user.active,
    }


def user_from_doc(doc: Doc) -> User:
    return User(
        id=doc["_id"],
        email=doc["email"],
        name=doc["name"],
        role=Role(doc["role"]),
        company_ids=frozenset(doc["company_ids"]),
        password_hash=doc["password_hash"],
        active=doc["active"],
    )


def runbook_doc(runbook: Runbook) -> Doc:
    check = runbook.health_check
    return {
        "_id": runbook.id,
        "company_id": runbook.company_id,
        "name": runbook.name,
        "signature": runbook.signature,
        "risk": runbook.risk.value,
        "actions": list(runbook.actions),
        "description": runbook.description,
        "health_check": None
        if check is None
        else {
            "kind": check.kind,
            "url": check.url,
            "expected_status": check.expected_status,
            "command": check.command,
        },
        "timeout_seconds": runbook.timeout_seconds,
    }


def runbook_from_doc(doc: Doc) -> Runbook:
    check = doc["health_check"]
    return Runbook(
        id=doc["_id"],
        name=doc["name"],
        signature=doc["signature"],
        risk=Risk(doc["risk"]),
        actions=tuple(doc["actions"]),
        description=doc["description"],
        health_check=None
        if check is None
        else HealthCheck(
            kind=check["kind"],
            url=check["url"],
            expected_status=check["expected_status"],
            command=check["command"],
        ),
        timeout_seconds=doc["timeout_seconds"],
        company_id=doc["company_id"],
    )


def approval_doc(request: ApprovalRequest) -> Doc:
    """Every field but ``_id`` and the storage rank ``seq`` (set once, on insert)."""
    return {
        "company_id": request.company_id,
        "incident_id": request.incident_id,
        "runbook_id": request.runbook_id,
        "risk": request.risk.value,
        "requested_by": request.requested_by,
        "status": request.status.value,
        "created_at": micros(request.created_at),
        "expires_at": micros(request.expires_at),
        "decided_by": request.decided_by,
        "decided_at": opt_micros(request.decided_at),
        "notes": request.notes,
    }


def approval_from_doc(doc: Doc) -> ApprovalRequest:
    return ApprovalRequest(
        id=doc["_id"],
        company_id=doc["company_id"],
        incident_id=doc["incident_id"],
        runbook_id=doc["runbook_id"],
        risk=Risk(doc["risk"]),
        requested_by=doc["requested_by"],
        status=ApprovalStatus(doc["status"]),
        created_at=from_micros(doc["created_at"]),
        expires_at=from_micros(doc["expires_at"]),
        decided_by=doc["decided_by"],
        decided_at=_opt_from_micros(doc["decided_at"]),
        notes=doc["notes"],
    )


def execution_doc(execution: Execution) -> Doc:
    return {
        "_id": execution.id,
        "company_id": execution.company_id,
        "incident_id": execution.incident_id,
        "runbook_id": execution.runbook_id,
        "status": execution.status.value,
        "created_at": micros(execution.created_at),
        "requested_by": execution.requested_by,
        "approval_id": execution.approval_id,
        "executor": execution.executor,
        "command_id": execution.command_id,
        "output": execution.output,
        "started_at": opt_micros(execution.started_at),
        "finished_at": opt_micros(execution.finished_at),
        "health_check_passed": execution.health_check_passed,
    }


def execution_from_doc(doc: Doc) -> Execution:
    return Execution(
        id=doc["_id"],
        company_id=doc["company_id"],
        incident_id=doc["incident_id"],
        runbook_id=doc["runbook_id"],
        status=ExecutionStatus(doc["status"]),
        created_at=from_micros(doc["created_at"]),
        requested_by=doc["requested_by"],
        approval_id=doc["approval_id"],
        executor=doc["executor"],
        command_id=doc["command_id"],
        output=doc["output"],
        started_at=_opt_from_micros(doc["started_at"]),
        finished_at=_opt_from_micros(doc["finished_at"]),
        health_check_passed=doc["health_check_passed"],
    )


def audit_doc(entry: AuditEntry) -> Doc:
    return {
        "_id": entry.id,
        "timestamp": micros(entry.timestamp),
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "action": entry.action,
        "details": msgspec.json.encode(entry.details).decode(),
        "company_id": entry.company_id,
    }


def audit_from_doc(doc: Doc) -> AuditEntry:
    return AuditEntry(
        id=doc["_id"],
        timestamp=from_micros(doc["timestamp"]),
        user_id=doc["user_id"],
        user_name=doc["user_name"],
        action=doc["action"],
        details=_details.decode(doc["details"]),
        company_id=doc["company_id"],
    )


# --- sign-in state -----------------------------------------------------------------------------


def token_doc(token: AuthToken) -> Doc:
    return {
        "_id": token.token_hash,
        "user_id": token.user_id,
        "created_at": micros(token.created_at),
        "expires_at": micros(token.expires_at),
    }


def token_from_doc(doc: Doc) -> AuthToken:
    return AuthToken(
        token_hash=doc["_id"],
        user_id=doc["user_id"],
        created_at=from_micros(doc["created_at"]),
        expires_at=from_micros(doc["expires_at"]),
    )


def login_attempts_doc(attempts: LoginAttempts) -> Doc:
    return {
        "_id": attempts.email,
        "failures": attempts.failures,
        "first_failure_at": micros(attempts.first_failure_at),
        "locked_until": opt_micros(attempts.locked_until),
    }


def login_attempts_from_doc(doc: Doc) -> LoginAttempts:
    return LoginAttempts(
        email=doc["_id"],
        failures=doc["failures"],
        first_failure_at=from_micros(doc["first_failure_at"]),
        locked_until=_opt_from_micros(doc["locked_until"]),
    )
