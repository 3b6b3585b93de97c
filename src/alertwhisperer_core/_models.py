"""Domain records.

Records are immutable. Most are ``attrs`` frozen classes. ``Alert`` is the exception: it is
created once for every alert on the ingest hot path, and a frozen ``msgspec.Struct`` builds in
about a tenth of the time of a frozen attrs class with the same fields (0.15 µs against 1.5 µs
measured on this project's 2-core machine), which is the difference between meeting and missing
the core pipeline's throughput target. It is still immutable, typed and hashable by identity,
and it encodes straight to JSON at the edges.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs
import msgspec

__all__ = [
    "Alert",
    "AlertStatus",
    "ApprovalRequest",
    "ApprovalStatus",
    "Asset",
    "AuditEntry",
    "HealthCheck",
    "Incident",
    "IncidentStatus",
    "Note",
    "Resolution",
    "Risk",
    "Role",
    "Runbook",
    "Severity",
    "TimelineEntry",
    "User",
]


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is more severe: low 0 … critical 3."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class AlertStatus(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class IncidentStatus(enum.StrEnum):
    # PENDING: a group below the company's ``min_alerts``; not listed, notified or healed.
    PENDING = "pending"
    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class Resolution(enum.StrEnum):
    MANUAL = "manual"
    SELF_HEALED = "self_healed"
    SOURCE_RECOVERED = "source_recovered"


class Risk(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Role(enum.StrEnum):
    MSP_ADMIN = "msp_admin"
    COMPANY_ADMIN = "company_admin"
    TECHNICIAN = "technician"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Alert(msgspec.Struct, frozen=True):
    """One normalized alert, whatever tool sent it.

    ``source`` is the detected payload format (``generic``, ``alertmanager``, ``datadog``,
    ``zabbix``, ``cloudwatch``); ``tool_source`` is the display name of the tool that reported
    it (what the multi-tool bonus counts). ``event_time_clamped`` is true when the sender's
    timestamp lay more than five minutes in the future and was replaced by ``received_at``.

    Build it with keywords. It is not ``kw_only`` only so that the generic normalizer, the
    ingest hot path, can pass its fields positionally: msgspec matches each keyword against
    the field names, which made a 15-keyword call cost ~760 machine instructions more than
    the positional one (2.6% of the core pipeline, under callgrind). The field order is part of
    that call; add new fields at the end.
    """

    id: str
    company_id: str
    asset_name: str
    signature: str
    severity: Severity
    status: AlertStatus
    message: str
    tool_source: str
    event_time: datetime
    received_at: datetime
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    delivery_id: str = ""
    fingerprint: str | None = None
    source: str = "generic"
    event_time_clamped: bool = False
    raw: bytes = b""


@attrs.frozen
class Note:
    author_id: str
    author_name: str
    text: str
    created_at: datetime


@attrs.frozen
class TimelineEntry:
    at: datetime
    kind: str
    detail: str = ""


@attrs.frozen
class Incident:
    """A group of correlated alerts sharing an aggregation key and a session window."""

    id: str
    company_id: str
    key: str
    asset_name: str
    signature: str
    severity: Severity
    status: IncidentStatus
    alert_count: int
    tool_sources: frozenset[str]
    first_event_at: datetime
    last_event_at: datetime
    created_at: datetime
    # Stores keep membership on the alerts; read paths fill ``alert_ids`` in.
    alert_ids: tuple[str, ...] = ()
    # Fingerprints of alerts still firing ("" for alerts whose source gives none). When the last
    # one is resolved by its source, the incident resolves as ``source_recovered``.
    firing_fingerprints: frozenset[str] = frozenset()
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    assigned_to: str | None = None
    notes: tuple[Note, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    merged_into: str | None = None
    in_maintenance: bool = False

    @property
    def is_open(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED and self.merged_into is None

    @property
    def pending(self) -> bool:
        """A group still below the company's ``min_alerts`` (what correlation plans read)."""
        return self.status is IncidentStatus.PENDING


@attrs.frozen
class Asset:
    """A client machine or service; ``name`` is what alerts call ``asset_name``."""

    id: str
    company_id: str
    name: str
    type: str = ""
    os: str = ""
    environment: str = ""
    is_critical: bool = False
    instance_id: str | None = None
    tags: tuple[str, ...] = ()


@attrs.frozen
class HealthCheck:
    """``kind`` is ``http`` (``url`` answers ``expected_status``) or ``command`` (exit 0)."""

    kind: str
    url: str | None = None
    expected_status: int = 200
    command: str | None = None


@attrs.frozen
class Runbook:
    id: str
    name: str
    signature: str
    risk: Risk
    actions: tuple[str, ...]
    description: str = ""
    health_check: HealthCheck | None = None
    timeout_seconds: int = 300
    company_id: str | None = None


@attrs.frozen
class ApprovalRequest:
    id: str
    company_id: str
    incident_id: str
    runbook_id: str
    risk: Risk
    requested_by: str
    status: ApprovalStatus
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    notes: str = ""


@attrs.frozen
class AuditEntry:
    id: str
    timestamp: datetime
    user_id: str | None
    user_name: str
    action: str
    details: dict[str, Any] = attrs.field(factory=dict)
    company_id: str | None = None


@attrs.frozen
class User:
    """A person who logs in. ``password_hash`` is a slow-KDF hash, never the password."""

    id: str
    email: str
    name: str
    role: Role
    company_ids: frozenset[str] = frozenset()
    password_hash: str = ""
    active: bool = True
