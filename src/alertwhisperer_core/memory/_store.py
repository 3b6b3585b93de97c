"""Every transactional store in memory, behind one unit of work.

A unit of work holds the store's lock for its whole life (transactions are serial, which is
what one process needs) and keeps an undo log, so a rollback restores exactly the state before
it. Records are immutable, so the log holds references, not copies.
"""

from __future__ import annotations

import asyncio
import builtins
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import attrs

from .._chat import ChatMessage
from .._cloud_credentials import AwsCredentials
from .._cursor import decode_cursor, encode_cursor
from .._execution import Execution, ExecutionStatus
from .._expiring import ExpiringMap
from .._idempotency import DeliveryRecord, delivery_key
from .._kpis import InstancePatchState
from .._models import (
    Alert,
    AlertStatus,
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    AuditEntry,
    Incident,
    IncidentStatus,
    Runbook,
    Severity,
    User,
)
from .._notifications import Notification
from .._settings import Company
from ..errors import ValidationError
from ..ports import (
    AlertQuery,
    AuditQuery,
    AuthToken,
    DuplicateDelivery,
    IncidentQuery,
    LoginAttempts,
    Page,
    sessions_key_by_key,
)

__all__ = ["InMemoryStore", "InMemoryUnitOfWork"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
_MISSING: Any = object()


class InMemoryStore:
    """The data. Call it (or :meth:`unit_of_work`) to open a transaction."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.companies: dict[str, Company] = {}
        self.hmac: dict[str, tuple[str, ...]] = {}
        self.aws: dict[str, AwsCredentials] = {}
        self.assets: dict[str, Asset] = {}
        self.alerts: dict[str, tuple[Alert, str | None]] = {}
        self.alerts_by_incident: dict[str, list[str]] = {}
        self.incidents: dict[str, Incident] = {}
        # Indexes, so every lookup on the ingest path is per key rather than a scan.
        self.company_by_key_hash: dict[str, str] = {}
        self.asset_by_name: dict[tuple[str, str], str] = {}
        self.open_by_key: dict[tuple[str, str], set[str]] = {}
        self.open_by_assignee: dict[str, set[str]] = {}
        self.last_assignee: dict[str, tuple[datetime, str]] = {}
        self.deliveries: ExpiringMap[str, DeliveryRecord] = ExpiringMap()
        self.users: dict[str, User] = {}
        self.runbooks: dict[str, Runbook] = {}
        self.approvals: dict[str, ApprovalRequest] = {}
        self.executions: dict[str, Execution] = {}
        # Per company: when it was last synced and its instance states, by instance id.
        self.compliance: dict[str, tuple[datetime, tuple[InstancePatchState, ...]]] = {}
        self.audit: list[AuditEntry] = []
        self.tokens: dict[str, AuthToken] = {}
        self.login_attempts: dict[str, LoginAttempts] = {}
        self.notifications: dict[str, Notification] = {}
        self.chat_messages: dict[str, ChatMessage] = {}
        self.chat_reads: dict[tuple[str, str], datetime] = {}  # (company, user) → read mark

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    __call__ = unit_of_work


class _Journal:
    """The undo log of one unit of work."""

    def __init__(self) -> None:
        # Each entry undoes one write; what it returns is ignored.
        self.undo: list[Callable[[], object]] = []

    def put(self, table: dict[K, V], key: K, value: V) -> None:
        old = table.get(key, _MISSING)
        table[key] = value

        def undo() -> None:
            if old is _MISSING:
                del table[key]
            else:
                table[key] = old

        self.undo.append(undo)

    def delete(self, table: dict[K, V], key: K) -> None:
        if key not in table:
            return
        old = table.pop(key)
        self.undo.append(lambda: table.__setitem__(key, old))

    def set_add(self, items: set[T], item: T) -> None:
        if item not in items:
            items.add(item)
            self.undo.append(lambda: items.discard(item))

    def set_discard(self, items: set[T], item: T) -> None:
        if item in items:
            items.discard(item)
            self.undo.append(lambda: items.add(item))

    def append(self, items: list[T], item: T) -> None:
        items.append(item)
        self.undo.append(items.pop)

    def rollback(self) -> None:
        while self.undo:
            self.undo.pop()()


def _page(
    items: Sequence[T], sort_key: Callable[[T], tuple[str, str]], cursor: str | None, limit: int
) -> Page[T]:
    """Newest first by ``sort_key`` (an ISO instant and an id); the cursor is the key of the
    last item returned. A cursor of another shape is a 422, as in the SQL and Mongo stores."""
    ordered = sorted(items, key=sort_key, reverse=True)
    if cursor is not None:
        after = tuple(decode_cursor(cursor, 2))
        if not all(isinstance(part, str) for part in after) or not _is_instant(str(after[0])):
            raise ValidationError.for_field("cursor", "is not a cursor this server issued")
        ordered = [item for item in ordered if sort_key(item) < after]
    page = ordered[:limit]
    more = len(ordered) > limit
    next_cursor = encode_cursor(*sort_key(page[-1])) if more and page else None
    return Page(tuple(page), next_cursor)


def _is_instant(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _visible(company_id: str | None, company_ids: frozenset[str] | None) -> bool:
    return company_ids is None or company_id in company_ids


def _within(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


class _Repo:
    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self.s = store
        self.j = journal


class _Companies(_Repo):
    async def get(self, company_id: str) -> Company | None:
        return self.s.companies.get(company_id)

    async def by_api_key_hash(self, api_key_hash: str) -> Company | None:
        company_id = self.s.company_by_key_hash.get(api_key_hash)
        return None if company_id is None else self.s.companies.get(company_id)

    def _put(self, company: Company) -> None:
        old = self.s.companies.get(company.id)
        if old is not None and old.api_key_hash != company.api_key_hash:
            self.j.delete(self.s.company_by_key_hash, old.api_key_hash)
        self.j.put(self.s.companies, company.id, company)
        if company.api_key_hash:
            self.j.put(self.s.company_by_key_hash, company.api_key_hash, company.id)

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Company]:
        return sorted(
            (c for c in self.s.companies.values() if _visible(c.id, company_ids)),
            key=lambda c: (c.name, c.id),
        )

    async def add(self, company: Company) -> None:
        self._put(company)

    async def update(self, company: Company) -> None:
        self._put(company)

    async def delete(self, company_id: str) -> None:
        old = self.s.companies.get(company_id)
        if old is not None:
            self.j.delete(self.s.company_by_key_hash, old.api_key_hash)
        self.j.delete(self.s.companies, company_id)
        self.j.delete(self.s.hmac, company_id)
        self.j.delete(self.s.aws, company_id)

    async def hmac_secrets(self, company_id: str) -> builtins.list[str]:
        return list(self.s.hmac.get(company_id, ()))

    async def set_hmac_secrets(self, company_id: str, secrets: Sequence[str]) -> None:
        self.j.put(self.s.hmac, company_id, tuple(secrets))

    async def aws_credentials(self, company_id: str) -> AwsCredentials | None:
        return self.s.aws.get(company_id)

    async def set_aws_credentials(
        self, company_id: str, credentials: AwsCredentials | None
    ) -> None:
        if credentials is None:
            self.j.delete(self.s.aws, company_id)
        else:
            self.j.put(self.s.aws, company_id, credentials)


class _Assets(_Repo):
    async def list(self, company_id: str) -> builtins.list[Asset]:
        return sorted(
            (a for a in self.s.assets.values() if a.company_id == company_id), key=lambda a: a.name
        )

    async def get(self, company_id: str, asset_id: str) -> Asset | None:
        asset = self.s.assets.get(asset_id)
        return asset if asset is not None and asset.company_id == company_id else None

    async def by_name(self, company_id: str, name: str) -> Asset | None:
        asset_id = self.s.asset_by_name.get((company_id, name))
        return None if asset_id is None else self.s.assets.get(asset_id)

    def _put(self, asset: Asset) -> None:
        old = self.s.assets.get(asset.id)
        if old is not None:
            self.j.delete(self.s.asset_by_name, (old.company_id, old.name))
        self.j.put(self.s.assets, asset.id, asset)
        self.j.put(self.s.asset_by_name, (asset.company_id, asset.name), asset.id)

    async def add(self, asset: Asset) -> None:
        self._put(asset)

    async def update(self, asset: Asset) -> None:
        self._put(asset)

    async def delete(self, company_id: str, asset_id: str) -> None:
        asset = await self.get(company_id, asset_id)
        if asset is not None:
            self.j.delete(self.s.asset_by_name, (asset.company_id, asset.name))
            self.j.delete(self.s.assets, asset_id)


class _Alerts(_Repo):
    async def add(self, alert: Alert, incident_id: str | None) -> None:
        self.j.put(self.s.alerts, alert.id, (alert, incident_id))
        if incident_id is not None:
            self.j.append(self.s.alerts_by_incident.setdefault(incident_id, []), alert.id)

    async def reassign(self, from_incident_id: str, to_incident_id: str) -> None:
        moved = self.s.alerts_by_incident.get(from_incident_id, [])
        for alert_id in builtins.list(moved):
            alert, _ = self.s.alerts[alert_id]
            self.j.put(self.s.alerts, alert_id, (alert, to_incident_id))
            self.j.append(self.s.alerts_by_incident.setdefault(to_incident_id, []), alert_id)
        self.j.put(self.s.alerts_by_incident, from_incident_id, [])

    async def get(self, alert_id: str) -> tuple[Alert, str | None] | None:
        return self.s.alerts.get(alert_id)

    async def ids_for_incident(self, incident_id: str) -> builtins.list[str]:
        return builtins.list(self.s.alerts_by_incident.get(incident_id, ()))

    def _matching(self, query: AlertQuery) -> builtins.list[tuple[Alert, str | None]]:
        q = query.q.lower() if query.q else None
        return [
            row
            for row in self.s.alerts.values()
            if _visible(row[0].company_id, query.company_ids)
            and (query.incident_id is None or row[1] == query.incident_id)
            and (query.severity is None or row[0].severity == query.severity)
            and (query.status is None or row[0].status == query.status)
            and _within(row[0].event_time, query.since, query.until)
            and (q is None or q in row[0].message.lower() or q in row[0].signature.lower())
        ]

    async def list(self, query: AlertQuery) -> Page[tuple[Alert, str | None]]:
        rows = self._matching(query)
        return _page(
            rows, lambda r: (r[0].received_at.isoformat(), r[0].id), query.cursor, query.limit
        )

    async def count(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> int:
        return sum(
            1
            for a, _ in self.s.alerts.values()
            if _visible(a.company_id, company_ids) and _within(a.event_time, since, until)
        )

    async def count_groups(self, query: AlertQuery) -> Mapping[tuple[Severity, AlertStatus], int]:
        return Counter((a.severity, a.status) for a, _ in self._matching(query))

    async def count_buckets(
        self,
        company_ids: frozenset[str] | None,
        since: datetime,
        until: datetime | None,
        width: timedelta,
    ) -> Mapping[int, int]:
        return Counter(
            (a.event_time - since) // width
            for a, _ in self.s.alerts.values()
            if _visible(a.company_id, company_ids) and _within(a.event_time, since, until)
        )


def _by_start(incidents: Iterable[Incident]) -> builtins.list[Incident]:
    """Oldest session first; the id breaks ties, as in the other stores."""
    return sorted(incidents, key=_start_key)


def _start_key(incident: Incident) -> tuple[datetime, str]:
    return incident.first_event_at, incident.id


class _Incidents(_Repo):
    async def get(self, incident_id: str) -> Incident | None:
        return self.s.incidents.get(incident_id)

    async def add(self, incident: Incident) -> None:
        self._put(incident)

    async def update(self, incident: Incident) -> None:
        self._put(incident)

    def _put(self, incident: Incident) -> None:
        old = self.s.incidents.get(incident.id)
        self.j.put(self.s.incidents, incident.id, incident)
        key = (incident.company_id, incident.key)
        if old is not None and old.is_open:
            self.j.set_discard(self.s.open_by_key.get((old.company_id, old.key), set()), old.id)
            if old.assigned_to is not None:
                self.j.set_discard(self.s.open_by_assignee.get(old.assigned_to, set()), old.id)
        if incident.is_open:
            self.j.set_add(self.s.open_by_key.setdefault(key, set()), incident.id)
            if incident.assigned_to is not None:
                assigned = self.s.open_by_assignee.setdefault(incident.assigned_to, set())
                self.j.set_add(assigned, incident.id)
        if incident.assigned_to is not None:
            # The latest assignment wins; on a tie, the incident stored first.
            at = max(
                (t.at for t in incident.timeline if t.kind == "assigned"),
                default=incident.created_at,
            )
            latest = self.s.last_assignee.get(incident.company_id)
            if latest is None or at > latest[0]:
                self.j.put(self.s.last_assignee, incident.company_id, (at, incident.assigned_to))

    async def lock_key(self, company_id: str, key: str) -> None:
        # The unit of work already holds the whole store's lock.
        return None

    def _open(self, company_id: str, key: str) -> Iterator[Incident]:
        incidents = self.s.incidents
        return (incidents[i] for i in self.s.open_by_key.get((company_id, key), ()))

    async def open_sessions(
        self, company_id: str, key: str, lo: datetime, hi: datetime
    ) -> builtins.list[Incident]:
        # Filter before sorting: a key keeps every session it ever opened until each resolves,
        # and only the few near the alert's time are candidates (this runs once per alert).
        return _by_start(
            i
            for i in self._open(company_id, key)
            if i.last_event_at >= lo and i.first_event_at <= hi
        )

    async def open_for_key(self, company_id: str, key: str) -> builtins.list[Incident]:
        return _by_start(self._open(company_id, key))

    async def open_sessions_of_keys(
        self, company_id: str, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> Mapping[str, builtins.list[Incident]]:
        return await sessions_key_by_key(self, company_id, ranges)

    async def open_counts(self, user_ids: Sequence[str]) -> Mapping[str, int]:
        return {u: len(self.s.open_by_assignee.get(u, ())) for u in user_ids}

    async def last_assignee(self, company_id: str) -> str | None:
        latest = self.s.last_assignee.get(company_id)
        return None if latest is None else latest[1]

    def _matching(self, query: IncidentQuery) -> builtins.list[Incident]:
        q = query.q.lower() if query.q else None
        return [
            i
            for i in self.s.incidents.values()
            if _visible(i.company_id, query.company_ids)
            and i.merged_into is None
            and (query.include_pending or i.status != "pending")
            and (query.status is None or i.status == query.status)
            and (query.severity is None or i.severity == query.severity)
            and (query.assigned_to is None or i.assigned_to == query.assigned_to)
            and _within(i.last_event_at, query.since, query.until)
            and (q is None or q in i.signature.lower() or q in i.asset_name.lower())
        ]

    async def list(self, query: IncidentQuery) -> Page[Incident]:
        rows = self._matching(query)
        return _page(rows, lambda i: (i.last_event_at.isoformat(), i.id), query.cursor, query.limit)

    async def count_groups(
        self, query: IncidentQuery
    ) -> Mapping[tuple[Severity, IncidentStatus], int]:
        return Counter((i.severity, i.status) for i in self._matching(query))

    async def all_in_period(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> builtins.list[Incident]:
        return [
            i
            for i in self.s.incidents.values()
            if _visible(i.company_id, company_ids) and _within(i.first_event_at, since, until)
        ]


class _Deliveries(_Repo):
    async def get(self, company_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        return self.s.deliveries.get(delivery_key(company_id, delivery_id), now)

    async def add(self, record: DeliveryRecord, expires_at: datetime) -> None:
        key = delivery_key(record.company_id, record.delivery_id)
        if (
            self.s.deliveries.put_if_absent(key, record, expires_at, record.first_seen_at)
            is not None
        ):
            raise DuplicateDelivery(record.delivery_id)
        self.j.undo.append(lambda: self.s.deliveries.discard(key))


class _Users(_Repo):
    async def get(self, user_id: str) -> User | None:
        return self.s.users.get(user_id)

    async def by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.s.users.values() if u.email.lower() == wanted), None)

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[User]:
        users = (
            u for u in self.s.users.values() if company_ids is None or u.company_ids & company_ids
        )
        return sorted(users, key=lambda u: (u.email, u.id))

    async def add(self, user: User) -> None:
        self.j.put(self.s.users, user.id, user)

    async def update(self, user: User) -> None:
        self.j.put(self.s.users, user.id, user)

    async def delete(self, user_id: str) -> None:
        self.j.delete(self.s.users, user_id)


class _Runbooks(_Repo):
    async def get(self, runbook_id: str) -> Runbook | None:
        return self.s.runbooks.get(runbook_id)

    async def for_company(self, company_id: str) -> builtins.list[Runbook]:
        return sorted(
            (
                r
                for r in self.s.runbooks.values()
                if r.company_id is None or r.company_id == company_id
            ),
            key=lambda r: (r.name, r.id),
        )

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Runbook]:
        return sorted(
            (
                r
                for r in self.s.runbooks.values()
                if r.company_id is None or _visible(r.company_id, company_ids)
            ),
            key=lambda r: (r.name, r.id),
        )

    async def add(self, runbook: Runbook) -> None:
        self.j.put(self.s.runbooks, runbook.id, runbook)

    async def update(self, runbook: Runbook) -> None:
        self.j.put(self.s.runbooks, runbook.id, runbook)

    async def delete(self, runbook_id: str) -> None:
        self.j.delete(self.s.runbooks, runbook_id)


class _Approvals(_Repo):
    async def get(self, approval_id: str) -> ApprovalRequest | None:
        return self.s.approvals.get(approval_id)

    async def add(self, request: ApprovalRequest) -> None:
        self.j.put(self.s.approvals, request.id, request)

    async def update(self, request: ApprovalRequest) -> None:
        self.j.put(self.s.approvals, request.id, request)

    async def transition(self, request: ApprovalRequest, from_status: ApprovalStatus) -> bool:
        found = self.s.approvals.get(request.id)
        if found is None or found.status is not from_status:
            return False
        self.j.put(self.s.approvals, request.id, request)
        return True

    async def list(
        self, company_ids: frozenset[str] | None, status: ApprovalStatus | None = None
    ) -> builtins.list[ApprovalRequest]:
        return sorted(
            (
                a
                for a in self.s.approvals.values()
                if _visible(a.company_id, company_ids) and (status is None or a.status == status)
            ),
            key=lambda a: (a.created_at, a.id),
            reverse=True,
        )

    async def page(
        self,
        company_ids: frozenset[str] | None,
        status: ApprovalStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ApprovalRequest]:
        rows = await self.list(company_ids, status)
        return _page(rows, lambda a: (a.created_at.isoformat(), a.id), cursor, limit)

    async def pending_due(self, now: datetime) -> builtins.list[ApprovalRequest]:
        return [
            a
            for a in self.s.approvals.values()
            if a.status == ApprovalStatus.PENDING and a.expires_at <= now
        ]


class _Executions(_Repo):
    async def get(self, execution_id: str) -> Execution | None:
        return self.s.executions.get(execution_id)

    async def add(self, execution: Execution) -> None:
        self.j.put(self.s.executions, execution.id, execution)

    async def update(self, execution: Execution) -> None:
        self.j.put(self.s.executions, execution.id, execution)

    async def claim(
        self, execution_id: str, started_at: datetime, executor: str
    ) -> Execution | None:
        found = self.s.executions.get(execution_id)
        if found is None or found.status is not ExecutionStatus.PENDING:
            return None
        claimed = attrs.evolve(
            found, status=ExecutionStatus.IN_PROGRESS, started_at=started_at, executor=executor
        )
        self.j.put(self.s.executions, execution_id, claimed)
        return claimed

    async def in_flight(self) -> builtins.list[Execution]:
        return sorted(
            (e for e in self.s.executions.values() if not e.status.terminal),
            key=lambda e: (e.created_at, e.id),
        )

    async def for_incident(
        self, incident_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[Execution]:
        rows = [e for e in self.s.executions.values() if e.incident_id == incident_id]
        return _page(rows, lambda e: (e.created_at.isoformat(), e.id), cursor, limit)


class _Compliance(_Repo):
    async def replace(
        self, company_id: str, states: Sequence[InstancePatchState], synced_at: datetime
    ) -> None:
        ordered = tuple(sorted(states, key=lambda state: state.instance_id))
        self.j.put(self.s.compliance, company_id, (synced_at, ordered))

    async def states(self, company_id: str) -> builtins.list[InstancePatchState]:
        cached = self.s.compliance.get(company_id)
        return [] if cached is None else builtins.list(cached[1])

    async def last_synced(self, company_id: str) -> datetime | None:
        cached = self.s.compliance.get(company_id)
        return None if cached is None else cached[0]


class _Audit(_Repo):
    async def append(self, entry: AuditEntry) -> None:
        self.j.append(self.s.audit, entry)

    async def list(self, query: AuditQuery) -> Page[AuditEntry]:
        rows = [
            e
            for e in self.s.audit
            if _visible(e.company_id, query.company_ids)
            and (query.action is None or e.action == query.action)
            and (query.user_id is None or e.user_id == query.user_id)
            and _within(e.timestamp, query.since, query.until)
        ]
        return _page(rows, lambda e: (e.timestamp.isoformat(), e.id), query.cursor, query.limit)


class _Tokens(_Repo):
    async def add(self, token: AuthToken) -> None:
        self.j.put(self.s.tokens, token.token_hash, token)

    async def get(self, token_hash: str) -> AuthToken | None:
        return self.s.tokens.get(token_hash)

    async def delete(self, token_hash: str) -> None:
        self.j.delete(self.s.tokens, token_hash)

    async def delete_for_user(self, user_id: str) -> None:
        for token in builtins.list(self.s.tokens.values()):
            if token.user_id == user_id:
                self.j.delete(self.s.tokens, token.token_hash)

    async def delete_expired(self, now: datetime) -> int:
        expired = [t.token_hash for t in self.s.tokens.values() if t.expires_at <= now]
        for token_hash in expired:
            self.j.delete(self.s.tokens, token_hash)
        return len(expired)


class _LoginAttempts(_Repo):
    async def get(self, email: str) -> LoginAttempts | None:
        return self.s.login_attempts.get(email)

    async def put(self, attempts: LoginAttempts) -> None:
        self.j.put(self.s.login_attempts, attempts.email, attempts)

    async def delete(self, email: str) -> None:
        self.j.delete(self.s.login_attempts, email)


class _Notifications(_Repo):
    async def add_many(self, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            self.j.put(self.s.notifications, notification.id, notification)

    async def list_for_user(
        self, user_id: str, unread_only: bool = False, cursor: str | None = None, limit: int = 50
    ) -> Page[Notification]:
        rows = [
            n
            for n in self.s.notifications.values()
            if n.user_id == user_id and not (unread_only and n.is_read)
        ]
        return _page(rows, lambda n: (n.created_at.isoformat(), n.id), cursor, limit)

    async def mark_read(self, user_id: str, notification_id: str, now: datetime) -> bool:
        found = self.s.notifications.get(notification_id)
        if found is None or found.user_id != user_id:
            return False
        if not found.is_read:
            self.j.put(self.s.notifications, found.id, attrs.evolve(found, read_at=now))
        return True

    async def mark_all_read(self, user_id: str, now: datetime) -> int:
        unread = [
            n for n in self.s.notifications.values() if n.user_id == user_id and not n.is_read
        ]
        for n in unread:
            self.j.put(self.s.notifications, n.id, attrs.evolve(n, read_at=now))
        return len(unread)

    async def unread_count(self, user_id: str) -> int:
        return sum(
            1 for n in self.s.notifications.values() if n.user_id == user_id and not n.is_read
        )


class _Chat(_Repo):
    async def add(self, message: ChatMessage) -> None:
        self.j.put(self.s.chat_messages, message.id, message)

    async def list(
        self, company_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[ChatMessage]:
        rows = [m for m in self.s.chat_messages.values() if m.company_id == company_id]
        return _page(rows, lambda m: (m.created_at.isoformat(), m.id), cursor, limit)

    async def mark_read(self, company_id: str, user_id: str, now: datetime) -> None:
        self.j.put(self.s.chat_reads, (company_id, user_id), now)

    async def unread_counts(self, user_id: str, company_ids: Sequence[str]) -> Mapping[str, int]:
        counts = dict.fromkeys(company_ids, 0)
        for m in self.s.chat_messages.values():
            if m.company_id not in counts or m.user_id == user_id:
                continue
            mark = self.s.chat_reads.get((m.company_id, user_id))
            if mark is None or m.created_at > mark:
                counts[m.company_id] += 1
        return counts


R = TypeVar("R", bound=_Repo)


class _Lazy(Generic[R]):
    """A unit of work's repository, built on first access and then kept on the instance
    (a non-data descriptor: the instance attribute it sets shadows it from then on)."""

    def __init__(self, repo: type[R]) -> None:
        self._repo = repo

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, uow: InMemoryUnitOfWork, owner: type | None = None) -> R:
        repo = self._repo(uow._store, uow._journal)
        uow.__dict__[self._name] = repo
        return repo


class InMemoryUnitOfWork:
    """A serial transaction over an :class:`InMemoryStore`."""

    # Each repository is built on first use: a webhook delivery opens two units of work and
    # touches a few of the fifteen, and building them all cost as much as the lookups.
    companies = _Lazy(_Companies)
    assets = _Lazy(_Assets)
    alerts = _Lazy(_Alerts)
    incidents = _Lazy(_Incidents)
    deliveries = _Lazy(_Deliveries)
    users = _Lazy(_Users)
    runbooks = _Lazy(_Runbooks)
    approvals = _Lazy(_Approvals)
    executions = _Lazy(_Executions)
    compliance = _Lazy(_Compliance)
    audit = _Lazy(_Audit)
    tokens = _Lazy(_Tokens)
    login_attempts = _Lazy(_LoginAttempts)
    notifications = _Lazy(_Notifications)
    chat = _Lazy(_Chat)

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._journal = _Journal()

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            self._store.lock.release()

    async def commit(self) -> None:
        self._journal.undo.clear()

    async def rollback(self) -> None:
        self._journal.rollback()
