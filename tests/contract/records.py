"""Builders of domain records for the contract suite, with every field worth round-tripping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alertwhisperer_core import (
    Alert,
    AlertStatus,
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    AuditEntry,
    Company,
    Incident,
    IncidentStatus,
    Risk,
    Role,
    Severity,
    TimelineEntry,
    User,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(minutes: float = 0, *, micro: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, microseconds=micro)


def company(company_id: str = "acme", **kw: Any) -> Company:
    fields: dict[str, Any] = {
        "id": company_id,
        "name": company_id.title(),
        "created_at": T0,
        "api_key_hash": f"sha256:{company_id}",
    }
    fields.update(kw)
    return Company(**fields)


def alert(alert_id: str, company_id: str = "acme", **kw: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": alert_id,
        "company_id": company_id,
        "asset_name": "srv-app-01",
        "signature": "disk_full",
        "severity": Severity.HIGH,
        "status": AlertStatus.FIRING,
        "message": "disk full on srv-app-01",
        "tool_source": "Datadog",
        "event_time": T0,
        "received_at": T0,
    }
    fields.update(kw)
    return Alert(**fields)


def incident(incident_id: str, company_id: str = "acme", **kw: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": incident_id,
        "company_id": company_id,
        "key": "srv-app-01|disk_full",
        "asset_name": "srv-app-01",
        "signature": "disk_full",
        "severity": Severity.HIGH,
        "status": IncidentStatus.NEW,
        "alert_count": 1,
        "tool_sources": frozenset({"Datadog"}),
        "first_event_at": T0,
        "last_event_at": T0,
        "created_at": T0,
        "firing_fingerprints": frozenset({""}),
        "timeline": (TimelineEntry(at=T0, kind="opened", detail="first alert"),),
    }
    fields.update(kw)
    return Incident(**fields)


def assigned(incident_: Incident, user_id: str, when: datetime) -> Incident:
    """``incident_`` assigned to ``user_id`` at ``when`` (as the core's ``assign`` does)."""
    import attrs

    entry = TimelineEntry(at=when, kind="assigned", detail=user_id)
    return attrs.evolve(incident_, assigned_to=user_id, timeline=(*incident_.timeline, entry))


def asset(asset_id: str, company_id: str = "acme", name: str = "srv-app-01", **kw: Any) -> Asset:
    return Asset(id=asset_id, company_id=company_id, name=name, **kw)


def user(user_id: str, *companies: str, email: str | None = None, **kw: Any) -> User:
    fields: dict[str, Any] = {
        "id": user_id,
        "email": email or f"{user_id}@example.test",
        "name": user_id.title(),
        "role": Role.TECHNICIAN,
        "company_ids": frozenset(companies),
        "password_hash": "scrypt$16384$8$1$c2FsdA==$ZGlnZXN0",
    }
    fields.update(kw)
    return User(**fields)


def approval(approval_id: str, company_id: str = "acme", **kw: Any) -> ApprovalRequest:
    fields: dict[str, Any] = {
        "id": approval_id,
        "company_id": company_id,
        "incident_id": "inc-1",
        "runbook_id": "rb-1",
        "risk": Risk.MEDIUM,
        "requested_by": "system",
        "status": ApprovalStatus.PENDING,
        "created_at": T0,
        "expires_at": at(60),
    }
    fields.update(kw)
    return ApprovalRequest(**fields)


def audit_entry(entry_id: str, company_id: str | None = "acme", **kw: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "id": entry_id,
        "timestamp": T0,
        "user_id": "u-1",
        "user_name": "Ada",
        "action": "incident_assigned",
        "details": {"incident_id": "inc-1", "n": 3, "nested": {"ok": True}},
        "company_id": company_id,
    }
    fields.update(kw)
    return AuditEntry(**fields)
