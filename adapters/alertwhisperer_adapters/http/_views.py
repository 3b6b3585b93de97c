"""Response shapes: one ``msgspec.Struct`` per JSON object the API returns, and the mapping
from domain records to them.

The structs are what gets encoded (fast, and secrets cannot slip out: a field that is not
declared here is not sent) and what ``/openapi.json`` publishes as response schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from alertwhisperer_core import (
    Alert,
    AlertStatus,
    Asset,
    AuditEntry,
    Company,
    CompanySettings,
    IncidentStatus,
    Resolution,
    Role,
    Severity,
    User,
)
from alertwhisperer_core.service import CompanyCredentials, IncidentView, KpiPeriod

__all__ = [
    "AlertOut",
    "AlertPage",
    "AssetList",
    "AssetOut",
    "AuditEntryOut",
    "AuditPage",
    "CompanyCreated",
    "CompanyList",
    "CompanyOut",
    "ErrorOut",
    "GenericAlertIn",
    "HmacSecretOut",
    "IncidentOut",
    "IncidentPage",
    "KpisOut",
    "LoginOut",
    "RateLimitedOut",
    "SettingsOut",
    "StatusOut",
    "UserList",
    "UserOut",
    "WebhookOut",
    "alert_out",
    "asset_out",
    "audit_out",
    "company_out",
    "credentials_out",
    "incident_out",
    "kpis_out",
    "settings_out",
    "user_out",
]


class ErrorOut(msgspec.Struct, frozen=True):
    detail: str
    errors: list[dict[str, Any]]


class RateLimitedOut(msgspec.Struct, frozen=True):
    detail: str
    errors: list[dict[str, Any]]
    retry_after_seconds: int
    backoff_policy: str


class StatusOut(msgspec.Struct, frozen=True):
    status: str


class UserOut(msgspec.Struct, frozen=True):
    id: str
    email: str
    name: str
    role: Role
    company_ids: list[str]
    active: bool


class UserList(msgspec.Struct, frozen=True):
    items: list[UserOut]
    next_cursor: str | None = None


class LoginOut(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_at: datetime
    csrf_token: str
    user: UserOut


class CorrelationOut(msgspec.Struct, frozen=True):
    window_minutes: int
    aggregation_key: str
    auto_correlate: bool
    min_alerts: int
    max_span_minutes: int


class RateLimitOut(msgspec.Struct, frozen=True):
    requests_per_minute: int
    burst: int


class PolicyOut(msgspec.Struct, frozen=True):
    auto_approve_low_risk: bool
    maintenance_windows: list[str]
    timezone: str


class SettingsOut(msgspec.Struct, frozen=True):
    correlation: CorrelationOut
    rate_limit: RateLimitOut
    policy: PolicyOut


class CompanyOut(msgspec.Struct, frozen=True):
    id: str
    name: str
    created_at: datetime
    hmac_enabled: bool
    settings: SettingsOut


class CompanyList(msgspec.Struct, frozen=True):
    items: list[CompanyOut]
    next_cursor: str | None = None


class AssetOut(msgspec.Struct, frozen=True):
    id: str
    company_id: str
    name: str
    type: str
    os: str
    environment: str
    is_critical: bool
    instance_id: str | None
    tags: list[str]


class AssetList(msgspec.Struct, frozen=True):
    items: list[AssetOut]
    next_cursor: str | None = None


class CompanyCreated(msgspec.Struct, frozen=True):
    company: CompanyOut
    api_key: str
    webhook_url: str
    integrations: dict[str, dict[str, str]]
    assets: list[AssetOut]


class HmacSecretOut(msgspec.Struct, frozen=True):
    hmac_secret: str


class AlertOut(msgspec.Struct, frozen=True):
    id: str
    company_id: str
    incident_id: str | None
    asset_name: str
    signature: str
    severity: Severity
    status: AlertStatus
    message: str
    tool_source: str
    source: str
    event_time: datetime
    received_at: datetime
    event_time_clamped: bool
    labels: dict[str, str]
    delivery_id: str
    fingerprint: str | None
    raw: str


class AlertPage(msgspec.Struct, frozen=True):
    items: list[AlertOut]
    next_cursor: str | None


class PriorityOut(msgspec.Struct, frozen=True):
    score: int
    breakdown: dict[str, int]


class NoteOut(msgspec.Struct, frozen=True):
    author_id: str
    author_name: str
    text: str
    created_at: datetime


class TimelineOut(msgspec.Struct, frozen=True):
    at: datetime
    kind: str
    detail: str


class IncidentOut(msgspec.Struct, frozen=True):
    id: str
    company_id: str
    key: str
    asset_name: str
    signature: str
    severity: Severity
    status: IncidentStatus
    resolution: Resolution | None
    alert_count: int
    alert_ids: list[str]
    tool_sources: list[str]
    first_event_at: datetime
    last_event_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    assigned_to: str | None
    priority: PriorityOut
    asset_registered: bool
    asset: AssetOut | None
    notes: list[NoteOut]
    timeline: list[TimelineOut]
    merged_into: str | None
    in_maintenance: bool


class IncidentPage(msgspec.Struct, frozen=True):
    items: list[IncidentOut]
    next_cursor: str | None


class AuditEntryOut(msgspec.Struct, frozen=True):
    id: str
    timestamp: datetime
    user_id: str | None
    user_name: str
    action: str
    details: dict[str, Any]
    company_id: str | None


class AuditPage(msgspec.Struct, frozen=True):
    items: list[AuditEntryOut]
    next_cursor: str | None


class KpiOut(msgspec.Struct, frozen=True):
    value: float | None
    band: str | None
    target: str


class KpisOut(msgspec.Struct, frozen=True):
    company_id: str | None
    since: datetime
    until: datetime
    noise_reduction: KpiOut
    self_healed: KpiOut
    mttr_minutes: KpiOut
    mttr_auto_minutes: KpiOut
    mttr_manual_minutes: KpiOut
    mttr_reduction: KpiOut
    patch_compliance: KpiOut
    alert_count: int
    incident_count: int
    resolved_count: int
    self_healed_count: int
    manual_count: int
    source_recovered_count: int


class GenericAlertIn(msgspec.Struct, frozen=True):
    """The generic alert format (the guide's). Other senders post their native payloads."""

    asset_name: str
    signature: str
    severity: str = "medium"
    message: str = ""
    tool_source: str = ""
    status: str = "firing"
    timestamp: str | None = None
    labels: dict[str, str] = {}


class WebhookOut(msgspec.Struct, frozen=True):
    alert_ids: list[str]
    incident_ids: list[str]
    duplicate: bool
    subscription: dict[str, str | None] | None = None


def user_out(user: User) -> UserOut:
    """A user without anything secret (no hash: the struct has no field for it)."""
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        company_ids=sorted(user.company_ids),
        active=user.active,
    )


def settings_out(settings: CompanySettings) -> SettingsOut:
    c, r, p = settings.correlation, settings.rate_limit, settings.policy
    return SettingsOut(
        correlation=CorrelationOut(
            window_minutes=c.window_minutes,
            aggregation_key=c.aggregation_key,
            auto_correlate=c.auto_correlate,
            min_alerts=c.min_alerts,
            max_span_minutes=c.max_span_minutes,
        ),
        rate_limit=RateLimitOut(requests_per_minute=r.requests_per_minute, burst=r.burst),
        policy=PolicyOut(
            auto_approve_low_risk=p.auto_approve_low_risk,
            maintenance_windows=list(p.maintenance_windows),
            timezone=p.timezone,
        ),
    )


def company_out(company: Company) -> CompanyOut:
    return CompanyOut(
        id=company.id,
        name=company.name,
        created_at=company.created_at,
        hmac_enabled=company.hmac_enabled,
        settings=settings_out(company.settings),
    )


def asset_out(asset: Asset) -> AssetOut:
    return AssetOut(
        id=asset.id,
        company_id=asset.company_id,
        name=asset.name,
        type=asset.type,
        os=asset.os,
        environment=asset.environment,
        is_critical=asset.is_critical,
        instance_id=asset.instance_id,
        tags=list(asset.tags),
    )


def credentials_out(
    credentials: CompanyCredentials, webhook_url: str, integrations: dict[str, dict[str, str]]
) -> CompanyCreated:
    return CompanyCreated(
        company=company_out(credentials.company),
        api_key=credentials.api_key,
        webhook_url=webhook_url,
        integrations=integrations,
        assets=[asset_out(a) for a in credentials.assets],
    )


def alert_out(alert: Alert, incident_id: str | None) -> AlertOut:
    return AlertOut(
        id=alert.id,
        company_id=alert.company_id,
        incident_id=incident_id,
        asset_name=alert.asset_name,
        signature=alert.signature,
        severity=alert.severity,
        status=alert.status,
        message=alert.message,
        tool_source=alert.tool_source,
        source=alert.source,
        event_time=alert.event_time,
        received_at=alert.received_at,
        event_time_clamped=alert.event_time_clamped,
        labels=dict(alert.labels),
        delivery_id=alert.delivery_id,
        fingerprint=alert.fingerprint,
        raw=alert.raw.decode("utf-8", errors="replace"),
    )


def incident_out(view: IncidentView) -> IncidentOut:
    i = view.incident
    return IncidentOut(
        id=i.id,
        company_id=i.company_id,
        key=i.key,
        asset_name=i.asset_name,
        signature=i.signature,
        severity=i.severity,
        status=i.status,
        resolution=i.resolution,
        alert_count=i.alert_count,
        alert_ids=list(i.alert_ids),
        tool_sources=sorted(i.tool_sources),
        first_event_at=i.first_event_at,
        last_event_at=i.last_event_at,
        created_at=i.created_at,
        resolved_at=i.resolved_at,
        assigned_to=i.assigned_to,
        priority=PriorityOut(score=view.priority.score, breakdown=dict(view.priority.breakdown)),
        asset_registered=view.asset is not None,
        asset=asset_out(view.asset) if view.asset is not None else None,
        notes=[NoteOut(n.author_id, n.author_name, n.text, n.created_at) for n in i.notes],
        timeline=[TimelineOut(t.at, t.kind, t.detail) for t in i.timeline],
        merged_into=i.merged_into,
        in_maintenance=i.in_maintenance,
    )


def audit_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id,
        timestamp=entry.timestamp,
        user_id=entry.user_id,
        user_name=entry.user_name,
        action=entry.action,
        details=dict(entry.details),
        company_id=entry.company_id,
    )


def kpis_out(period: KpiPeriod, company_id: str | None) -> KpisOut:
    r = period.report

    def kpi(k: Any) -> KpiOut:
        return KpiOut(value=k.value, band=k.band.value if k.band else None, target=k.target)

    return KpisOut(
        company_id=company_id,
        since=period.since,
        until=period.until,
        noise_reduction=kpi(r.noise_reduction),
        self_healed=kpi(r.self_healed),
        mttr_minutes=kpi(r.mttr_minutes),
        mttr_auto_minutes=kpi(r.mttr_auto_minutes),
        mttr_manual_minutes=kpi(r.mttr_manual_minutes),
        mttr_reduction=kpi(r.mttr_reduction),
        patch_compliance=kpi(r.patch_compliance),
        alert_count=r.alert_count,
        incident_count=r.incident_count,
        resolved_count=r.resolved_count,
        self_healed_count=r.self_healed_count,
        manual_count=r.manual_count,
        source_recovered_count=r.source_recovered_count,
    )
