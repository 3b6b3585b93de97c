"""The webhook ingest use case: SPEC §5's gate in order, then correlation, scoring, routing.

Nothing is stored when a step rejects; an accepted delivery is committed in one unit of work
(alerts, incidents, idempotency record, audit, approvals) before the caller answers 202.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .._approvals import remediation_route, request_approval
from .._correlation import aggregation_key, candidate_range, choose_survivor, select_sessions
from .._idempotency import DELIVERY_WINDOW, DeliveryRecord
from .._incidents import (
    absorb_alert,
    activate,
    assign,
    merge_into,
    open_incident,
    resolve_from_source,
    resolves,
)
from .._maintenance import in_maintenance
from .._models import (
    Alert,
    AlertStatus,
    ApprovalRequest,
    Incident,
    IncidentStatus,
    Role,
    Runbook,
    Severity,
    User,
)
from .._notifications import (
    Notification,
    approval_notifications,
    assignment_notifications,
    critical_alert_notifications,
)
from .._ratelimit import rate_limit_headers, throttle_status
from .._routing import pick_technician
from .._runbooks import match_runbook
from .._scoring import score_incident
from .._secrets import hash_api_key
from .._settings import Company
from .._signatures import verify_signature
from ..errors import (
    AlertWhispererError,
    AuthenticationFailed,
    PayloadTooLarge,
    RateLimited,
    SignatureRejected,
    ValidationError,
)
from ..normalize import Delivery, normalize, sniff_sender
from ..ports import DuplicateDelivery, Event, TransientConflict, UnitOfWork
from ._access import audit
from ._services import RemediationRequest, Services

__all__ = [
    "MAX_BODY_BYTES",
    "WebhookOutcome",
    "WebhookRequest",
    "ingest_webhook",
    "notification_event",
]

MAX_BODY_BYTES = 1024 * 1024
_MAX_DELIVERY_ID = 256
_CONFLICT_ATTEMPTS = 8
SYSTEM_USER = "system"


@attrs.frozen
class WebhookRequest:
    """What the HTTP adapter read: raw body, lower-cased header names, query parameters."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class WebhookOutcome:
    status: int  # 202 accepted, 200 duplicate delivery
    body: dict[str, Any]
    headers: dict[str, str]
    company_id: str
    alerts: tuple[Alert, ...] = ()
    incidents: tuple[Incident, ...] = ()
    remediations: tuple[RemediationRequest, ...] = ()


async def ingest_webhook(services: Services, request: WebhookRequest) -> WebhookOutcome:
    """Run one webhook delivery through the whole pipeline; raise an error leaf on rejection."""
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body exceeds {MAX_BODY_BYTES} bytes")
    now = services.clock.now()
    company, secrets = await _authenticate(services, request)
    headers = await _throttle(services, company, request, now)

    replay_key = None
    if company.hmac_enabled:
        verified = verify_signature(secrets, request.body, request.headers, now)
        if not await services.replay_guard.remember(verified.replay_key, verified.expires_at, now):
            raise SignatureRejected("replay")
        replay_key = verified.replay_key
    try:
        return await _accept(services, company, request, headers, now)
    except AlertWhispererError:
        # The delivery was refused after its signature was recorded: let an honest retry in.
        if replay_key is not None:
            await services.replay_guard.forget(replay_key)
        raise


async def _authenticate(services: Services, request: WebhookRequest) -> tuple[Company, list[str]]:
    """The company owning the API key, and its HMAC secrets when it signs its webhooks."""
    api_key = request.query.get("api_key") or request.headers.get("x-api-key")
    if not api_key:
        raise AuthenticationFailed("Invalid or missing API key")
    async with services.uow() as uow:
        company = await uow.companies.by_api_key_hash(hash_api_key(api_key))
        if company is None:
            raise AuthenticationFailed("Invalid or missing API key")
        secrets = await uow.companies.hmac_secrets(company.id) if company.hmac_enabled else []
    return company, secrets


async def _throttle(
    services: Services, company: Company, request: WebhookRequest, now: datetime
) -> dict[str, str]:
    limits = company.settings.rate_limit
    decision = await services.rate_limiter.acquire(company.id, limits, now)
    headers = rate_limit_headers(limits, decision)
    if not decision.allowed:
        sender = sniff_sender(
            request.body,
            user_agent=request.headers.get("user-agent"),
            source=request.query.get("source"),
        )
        raise RateLimited(decision.retry_after_seconds, throttle_status(sender), headers)
    return headers


def _header_delivery_id(request: WebhookRequest) -> str | None:
    value = request.headers.get("x-delivery-id")
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _MAX_DELIVERY_ID:
        raise ValidationError.for_field(
            "X-Delivery-ID", f"must be 1 to {_MAX_DELIVERY_ID} characters"
        )
    return value


async def _accept(
    services: Services,
    company: Company,
    request: WebhookRequest,
    headers: dict[str, str],
    now: datetime,
) -> WebhookOutcome:
    header_id = _header_delivery_id(request)
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            return await _accept_once(services, company, request, header_id, headers, now)
        except TransientConflict:
            # Nothing was committed; another process touched the same key first. Go again.
            if attempt == _CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _accept_once(
    services: Services,
    company: Company,
    request: WebhookRequest,
    header_id: str | None,
    headers: dict[str, str],
    now: datetime,
) -> WebhookOutcome:
    if header_id is not None:
        # The shared cache answers most repeats without a transaction (the store decides).
        cached = await _cached_delivery(services, company.id, header_id, now)
        if cached is not None:
            return _duplicate(cached, company, headers)
    try:
        # One transaction: the duplicate check and everything the delivery stores.
        async with services.uow() as uow:
            if header_id is not None:
                seen = await uow.deliveries.get(company.id, header_id, now)
                if seen is not None:
                    return _duplicate(seen, company, headers)
            delivery = normalize(
                request.body,
                company_id=company.id,
                received_at=now,
                new_id=services.ids.new_id,
                source=request.query.get("source"),
                delivery_id=header_id,
            )
            if delivery.delivery_id and header_id is None:
                seen = await _cached_delivery(services, company.id, delivery.delivery_id, now)
                if seen is None:
                    seen = await uow.deliveries.get(company.id, delivery.delivery_id, now)
                if seen is not None:
                    return _duplicate(seen, company, headers)
            incidents, remediations, events, record = await _store_delivery(
                services, uow, company, delivery, now
            )
            await uow.commit()
    except DuplicateDelivery:
        # Another request with the same delivery id committed first: answer as its duplicate.
        async with services.uow() as uow:
            seen = await uow.deliveries.get(company.id, delivery.delivery_id, now)
        if seen is None:  # pragma: no cover - the winner's record cannot vanish in between
            raise
        return _duplicate(seen, company, headers)
    if record is not None and services.deliveries is not None:
        # Only after the commit, so the cache never knows a delivery the store does not.
        await services.deliveries.put(record, now + DELIVERY_WINDOW, now)
    for event in events:
        await services.events.publish(event)
    body: dict[str, Any] = {
        "alert_ids": [a.id for a in delivery.alerts],
        "incident_ids": [i.id for i in incidents],
        "duplicate": False,
    }
    if delivery.subscription is not None:
        body["subscription"] = {
            "type": delivery.subscription.type,
            "topic_arn": delivery.subscription.topic_arn,
            "confirm_url": delivery.subscription.subscribe_url,
        }
    return WebhookOutcome(
        status=202,
        body=body,
        headers=headers,
        company_id=company.id,
        alerts=delivery.alerts,
        incidents=tuple(incidents),
        remediations=tuple(remediations),
    )


async def _cached_delivery(
    services: Services, company_id: str, delivery_id: str, now: datetime
) -> DeliveryRecord | None:
    if services.deliveries is None:
        return None
    return await services.deliveries.get(company_id, delivery_id, now)


def _duplicate(record: DeliveryRecord, company: Company, headers: dict[str, str]) -> WebhookOutcome:
    body = {
        "alert_ids": list(record.alert_ids),
        "incident_ids": list(record.incident_ids),
        "duplicate": True,
    }
    return WebhookOutcome(status=200, body=body, headers=headers, company_id=company.id)


class _Batch:
    """What one delivery changed, gathered so each incident is written and announced once."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}
        self.opened: set[str] = set()
        self.activated: set[str] = set()
        self.events: list[Event] = []
        self.remediations: list[RemediationRequest] = []
        self.order: list[str] = []  # ids of the incidents the alerts joined, for the response
        self.last_assignee: str | None = None
        # Per key: the latest version of each of its incidents this delivery knows (the stored
        # open ones, with this delivery's changes laid over), kept up to date by touch().
        self.current: dict[str, dict[str, Incident]] = {}
        # Notifications (SPEC §10): who was assigned what, and each stored incident's severity
        # before this delivery, so a critical alert notifies once per incident, not per alert.
        self.assigned: list[tuple[str, str]] = []
        self.approvals: list[tuple[ApprovalRequest, str]] = []  # with the runbook's name
        self.prior_severity: dict[str, Severity] = {}
        # Read once per delivery, not once per new incident: nothing this delivery does changes
        # them before its incidents are written, which is after routing.
        self.runbooks: list[Runbook] | None = None
        self.technicians: list[User] | None = None
        self.stored_counts: dict[str, int] | None = None
        # Per key: the widest candidate range of this delivery's firing alerts, and the stored
        # open sessions in it (every open incident for a key with a recovery), read once for
        # the whole delivery. Under the keys' locks the stored copies cannot change.
        self.ranges: dict[str, tuple[datetime, datetime]] = {}
        self.stored: dict[str, list[Incident]] = {}
        self.stored_by_id: dict[str, Incident] = {}

    def touch(self, incident: Incident) -> None:
        self.incidents[incident.id] = incident
        self.current_of(incident.key)[incident.id] = incident

    def widen(self, key: str, lo: datetime, hi: datetime) -> None:
        """Make ``key``'s range cover ``[lo, hi]``."""
        known = self.ranges.get(key)
        self.ranges[key] = (lo, hi) if known is None else (min(known[0], lo), max(known[1], hi))

    def current_of(self, key: str) -> dict[str, Incident]:
        """Every incident of ``key`` this delivery knows, by id, in its latest version."""
        known = self.current.get(key)
        if known is None:
            known = self.current[key] = {i.id: i for i in self.stored.get(key, ())}
        return known


async def _store_delivery(
    services: Services, uow: UnitOfWork, company: Company, delivery: Delivery, now: datetime
) -> tuple[list[Incident], list[RemediationRequest], list[Event], DeliveryRecord | None]:
    batch = _Batch()
    if delivery.subscription is not None:
        sub = delivery.subscription
        await audit(
            services,
            uow,
            None,
            "sns_subscription_received",
            now,
            company.id,
            {
                "type": sub.type,
                "topic_arn": sub.topic_arn,
                "confirm_url": sub.subscribe_url,
            },
        )
    # Lock every key of the delivery up front in one global order, so two multi-key deliveries
    # never wait on each other's locks (a deadlock on PostgreSQL). Each alert's key is computed
    # once here and handed on, so correlation takes no lock of its own.
    spec = company.settings.correlation.aggregation_key
    keys = [aggregation_key(alert, spec) for alert in delivery.alerts]
    for key in sorted(set(keys)):
        await uow.incidents.lock_key(company.id, key)
    settings = company.settings.correlation
    if settings.auto_correlate:
        for alert, key in zip(delivery.alerts, keys, strict=True):
            if alert.status is not AlertStatus.RESOLVED:
                batch.widen(key, *candidate_range(alert.event_time, settings))
    # Every stored open session the delivery can touch, in one read for all its keys: a
    # firing alert's key over the range of its alerts, a recovery's key whole.
    spans: dict[str, tuple[datetime, datetime] | None] = dict(batch.ranges)
    for alert, key in zip(delivery.alerts, keys, strict=True):
        if alert.status is AlertStatus.RESOLVED:
            spans[key] = None
    if spans:
        batch.stored = dict(await uow.incidents.open_sessions_of_keys(company.id, spans))
        for found in batch.stored.values():
            batch.stored_by_id.update((i.id, i) for i in found)
    for alert, key in zip(delivery.alerts, keys, strict=True):
        incident = await _correlate(services, uow, company, alert, key, now, batch)
        await uow.alerts.add(alert, incident.id if incident else None)
        if incident is not None:
            batch.order.append(incident.id)
        batch.events.append(Event("alert.created", company.id, _alert_event(alert, incident), now))
    for incident_id in batch.activated:
        await _route_new_incident(services, uow, company, batch, batch.incidents[incident_id], now)
    for incident in batch.incidents.values():
        if incident.id in batch.opened:
            await uow.incidents.add(incident)
        else:
            await uow.incidents.update(incident)
    joined = [batch.incidents[i] for i in dict.fromkeys(batch.order)]
    record = None
    if delivery.delivery_id:
        record = DeliveryRecord(
            delivery_id=delivery.delivery_id,
            company_id=company.id,
            alert_ids=tuple(a.id for a in delivery.alerts),
            incident_ids=tuple(i.id for i in joined),
            first_seen_at=now,
        )
        await uow.deliveries.add(record, now + DELIVERY_WINDOW)
    await _score_events(uow, company, batch, now)
    await _notify(services, uow, company, batch, now)
    return joined, batch.remediations, batch.events, record


async def _load(uow: UnitOfWork, batch: _Batch, incident_id: str) -> Incident:
    cached = batch.incidents.get(incident_id)
    if cached is not None:
        return cached
    found = batch.stored_by_id.get(incident_id) or await uow.incidents.get(incident_id)
    if found is None:  # pragma: no cover - a candidate the store just returned
        raise LookupError(incident_id)
    batch.prior_severity.setdefault(found.id, found.severity)
    return found


async def _correlate(
    services: Services,
    uow: UnitOfWork,
    company: Company,
    alert: Alert,
    key: str,
    now: datetime,
    batch: _Batch,
) -> Incident | None:
    """The incident ``alert`` joins, opens or resolves; its ``key`` is already locked."""
    settings = company.settings.correlation
    if alert.status is AlertStatus.RESOLVED:
        return _resolve(alert, key, now, batch)
    group: Sequence[Incident] = ()
    if settings.auto_correlate:
        t = alert.event_time
        window = settings.window
        lo, hi = t - window, t + window
        # What the store would answer for this alert's own range, in the versions this batch
        # changed. (An incident's range only grows, so the latest version overlaps whenever
        # the stored one did.)
        candidates = [
            i
            for i in batch.current_of(key).values()
            if i.last_event_at >= lo and i.first_event_at <= hi and i.is_open
        ]
        if candidates:
            # plan_correlation's rules, on the incidents themselves: ordered by start, then id.
            if len(candidates) > 1:
                candidates.sort(key=_by_start)
            group = select_sessions(t, candidates, window, settings.max_span)
    # With auto_correlate off every alert is its own incident, so min_alerts cannot apply.
    pending_group = settings.min_alerts > 1 and settings.auto_correlate
    if not group:
        incident = open_incident(
            incident_id=services.ids.new_id(),
            alert=alert,
            key=key,
            now=now,
            pending=pending_group,
            in_maintenance=in_maintenance(company.settings.policy, alert.event_time),
        )
        batch.opened.add(incident.id)
        if not pending_group:
            batch.activated.add(incident.id)
        batch.touch(incident)
        return incident
    survivor = choose_survivor(group)
    incident = absorb_alert(await _load(uow, batch, survivor.id), alert)
    for other in group:
        if other is survivor:
            continue
        incident, absorbed = merge_into(incident, await _load(uow, batch, other.id), now)
        await uow.alerts.reassign(other.id, incident.id)
        batch.touch(absorbed)
        batch.activated.discard(other.id)
    if incident.status is IncidentStatus.PENDING and incident.alert_count >= settings.min_alerts:
        incident = activate(incident, now)
        batch.activated.add(incident.id)
    batch.touch(incident)
    return incident


def _by_start(incident: Incident) -> tuple[datetime, str]:
    return incident.first_event_at, incident.id


def _resolve(alert: Alert, key: str, now: datetime, batch: _Batch) -> Incident | None:
    # Every stored open incident of the key (read whole for a recovery's key).
    matching = sorted(
        (i for i in batch.current_of(key).values() if resolves(alert, i)), key=_by_start
    )
    for incident in matching:
        batch.touch(resolve_from_source(incident, alert, now))
    # The recovery is listed with the latest incident it resolved.
    return batch.incidents[matching[-1].id] if matching else None


async def _route_new_incident(
    services: Services,
    uow: UnitOfWork,
    company: Company,
    batch: _Batch,
    incident: Incident,
    now: datetime,
) -> None:
    """Runbook or technician for a newly visible incident (SPEC §6, §7)."""
    if incident.in_maintenance or not incident.is_open:
        return
    if batch.runbooks is None:
        batch.runbooks = await uow.runbooks.for_company(company.id)
    runbook = match_runbook(incident.signature, company.id, batch.runbooks)
    if runbook is not None:
        route = remediation_route(runbook.risk, company.settings.policy, in_maintenance=False)
        if route == "auto":
            batch.remediations.append(RemediationRequest(incident=incident, runbook=runbook))
            return
        if route == "approval":
            approval = request_approval(
                id=services.ids.new_id(),
                company_id=company.id,
                incident_id=incident.id,
                runbook_id=runbook.id,
                risk=runbook.risk,
                requested_by=SYSTEM_USER,
                now=now,
            )
            await uow.approvals.add(approval)
            batch.approvals.append((approval, runbook.name))
            await audit(
                services,
                uow,
                None,
                "approval_requested",
                now,
                company.id,
                {
                    "approval_id": approval.id,
                    "incident_id": incident.id,
                    "runbook_id": runbook.id,
                    "risk": str(runbook.risk),
                },
            )
            batch.events.append(
                Event(
                    "approval.requested",
                    company.id,
                    {"id": approval.id, "incident_id": incident.id},
                    now,
                )
            )
    technicians = await _technicians(uow, company, batch)
    if not technicians:
        return
    if batch.stored_counts is None:
        batch.stored_counts = dict(await uow.incidents.open_counts([u.id for u in technicians]))
    counts = dict(batch.stored_counts)
    # Incidents opened and assigned earlier in this delivery are not in the store yet.
    for other in batch.incidents.values():
        if other.id in batch.opened and other.is_open and other.assigned_to in counts:
            counts[other.assigned_to] += 1
    last = batch.last_assignee or await uow.incidents.last_assignee(company.id)
    chosen = pick_technician(technicians, counts, last)
    if chosen is None:
        return
    batch.last_assignee = chosen
    batch.incidents[incident.id] = assign(incident, chosen, now)
    batch.assigned.append((incident.id, chosen))
    await audit(
        services,
        uow,
        None,
        "incident_assigned",
        now,
        company.id,
        {
            "incident_id": incident.id,
            "assigned_to": chosen,
            "reason": "least open incidents",
        },
    )


async def _technicians(uow: UnitOfWork, company: Company, batch: _Batch) -> list[User]:
    """The company's active technicians, read once per delivery."""
    if batch.technicians is None:
        batch.technicians = [
            u
            for u in await uow.users.list(frozenset({company.id}))
            if u.role is Role.TECHNICIAN and u.active
        ]
    return batch.technicians


async def _score_events(uow: UnitOfWork, company: Company, batch: _Batch, now: datetime) -> None:
    assets: dict[str, Any] = {}
    for incident in batch.incidents.values():
        if incident.status is IncidentStatus.PENDING and incident.merged_into is None:
            continue
        if incident.asset_name not in assets:
            assets[incident.asset_name] = await uow.assets.by_name(company.id, incident.asset_name)
        priority = score_incident(incident, assets[incident.asset_name], now)
        kind = "incident.created" if incident.id in batch.activated else "incident.updated"
        batch.events.append(
            Event(
                kind,
                company.id,
                {
                    "id": incident.id,
                    "status": str(incident.status),
                    "severity": str(incident.severity),
                    "alert_count": incident.alert_count,
                    "priority": priority.score,
                    "merged_into": incident.merged_into,
                    "assigned_to": incident.assigned_to,
                },
                now,
            )
        )


# --- notifications (SPEC §10) ---------------------------------------------------------------


async def _notify(
    services: Services, uow: UnitOfWork, company: Company, batch: _Batch, now: datetime
) -> None:
    """Store this delivery's notifications in its unit of work; announce each after commit.

    A critical incident notifies when it becomes visible (opened, or a pending group reaching
    ``min_alerts``) or when a critical alert raises a stored incident to critical; never while
    pending or in maintenance. Built last so the ids of everything else do not shift.
    """
    notes: list[Notification] = []
    for incident_id, user_id in batch.assigned:
        incident = batch.incidents[incident_id]
        notes += assignment_notifications(
            incident, user_id, assigned_by=None, new_id=services.ids.new_id, now=now
        )
    users = await uow.users.list(None) if batch.approvals else []
    for approval, runbook_name in batch.approvals:
        notes += approval_notifications(
            users, approval, runbook_name, new_id=services.ids.new_id, now=now
        )
    critical = [
        i
        for i in batch.incidents.values()
        if i.is_open
        and i.status is not IncidentStatus.PENDING
        and not i.in_maintenance
        and i.severity is Severity.CRITICAL
        and (
            i.id in batch.activated
            or batch.prior_severity.get(i.id, Severity.CRITICAL) is not Severity.CRITICAL
        )
    ]
    if critical:
        users = users or await uow.users.list(None)
        for incident in critical:
            notes += critical_alert_notifications(
                users, incident, new_id=services.ids.new_id, now=now
            )
    if notes:
        await uow.notifications.add_many(notes)
        batch.events += [notification_event(n) for n in notes]


def notification_event(notification: Notification) -> Event:
    """The ``notification`` event for its one recipient (``data.user_id``)."""
    n = notification
    return Event(
        "notification",
        n.company_id,
        {
            "id": n.id,
            "user_id": n.user_id,
            "type": n.type.value,
            "title": n.title,
            "body": n.body,
            "link": {"type": n.link_type, "id": n.link_id},
        },
        n.created_at,
    )


def _alert_event(alert: Alert, incident: Incident | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "incident_id": incident.id if incident else None,
        "severity": str(alert.severity),
        "status": str(alert.status),
        "asset_name": alert.asset_name,
        "signature": alert.signature,
    }
