"""Ports: the protocols the service layer talks to.

The core ships an in-memory implementation of every port (:mod:`alertwhisperer_core.memory`);
adapters implement them for SQL, MongoDB, Redis and AWS. Store ports are ``async`` because real
back ends do I/O; the core itself never does any.

Transactional stores hang off a :class:`UnitOfWork`: everything one webhook delivery writes
(idempotency record, alerts, incidents, audit, approvals) commits together or not at all.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import attrs

from ._chat import ChatMessage
from ._cloud_credentials import AwsCredentials
from ._execution import CommandResult, Execution
from ._idempotency import DeliveryRecord
from ._kpis import InstancePatchState
from ._models import (
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
from ._notifications import Notification
from ._ratelimit import RateDecision
from ._settings import Company, RateLimitSettings

__all__ = [
    "AlertQuery",
    "AlertRepository",
    "ApprovalRepository",
    "AssetRepository",
    "AuditLog",
    "AuditQuery",
    "AuthToken",
    "ChatRepository",
    "Clock",
    "CompanyRepository",
    "ComplianceRepository",
    "DeliveryCache",
    "DeliveryRepository",
    "DuplicateDelivery",
    "Event",
    "EventBus",
    "ExecutionRepository",
    "HttpProbe",
    "IdSource",
    "IncidentQuery",
    "IncidentRepository",
    "LoginAttemptRepository",
    "LoginAttempts",
    "NotificationRepository",
    "Page",
    "PatchComplianceSource",
    "RateLimiter",
    "ReplayGuard",
    "RunbookExecutor",
    "RunbookRepository",
    "TokenRepository",
    "TransientConflict",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
    "sessions_key_by_key",
]

T = TypeVar("T")


class Clock(Protocol):
    """The only way time enters the system: adapters read the clock, the core is handed it."""

    def now(self) -> datetime: ...


class IdSource(Protocol):
    """Identifiers and secure randomness, kept out of the core for reproducibility."""

    def new_id(self) -> str: ...

    def token_bytes(self, n: int) -> bytes: ...


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: ``next_cursor`` is opaque and ``None`` on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None = None


@attrs.frozen
class AlertQuery:
    company_ids: frozenset[str] | None = None  # None: every company (MSP admins)
    incident_id: str | None = None
    severity: Severity | None = None
    status: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@attrs.frozen
class IncidentQuery:
    company_ids: frozenset[str] | None = None
    status: IncidentStatus | None = None
    severity: Severity | None = None
    assigned_to: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_pending: bool = False
    cursor: str | None = None
    limit: int = 50


@attrs.frozen
class AuditQuery:
    company_ids: frozenset[str] | None = None
    action: str | None = None
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


class DuplicateDelivery(Exception):
    """Raised by :meth:`DeliveryRepository.add` when the delivery id is already recorded.

    Stores enforce uniqueness themselves (a unique index), so two processes racing with the
    same delivery cannot both store it.
    """


class TransientConflict(Exception):
    """Raised by a store when a unit of work lost a race it can win on a retry.

    MongoDB aborts a transaction on a write conflict instead of waiting; PostgreSQL may report a
    serialization failure or deadlock. The use case rolls back and runs the unit of work again.
    """


class CompanyRepository(Protocol):
    async def get(self, company_id: str) -> Company | None: ...
    async def by_api_key_hash(self, api_key_hash: str) -> Company | None: ...
    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Company]: ...
    async def add(self, company: Company) -> None: ...
    async def update(self, company: Company) -> None: ...
    async def delete(self, company_id: str) -> None: ...
    # HMAC secrets must be usable to verify signatures, so adapters keep them encrypted at rest
    # rather than hashed; the first is the current secret, the rest still verify (rotation).
    async def hmac_secrets(self, company_id: str) -> builtins.list[str]: ...
    async def set_hmac_secrets(self, company_id: str, secrets: Sequence[str]) -> None: ...
    # A company's own AWS credentials: encrypted at rest like the HMAC secrets; deleting the
    # company forgets them.
    async def aws_credentials(self, company_id: str) -> AwsCredentials | None: ...
    async def set_aws_credentials(
        self, company_id: str, credentials: AwsCredentials | None
    ) -> None:
        """Store ``credentials`` for the company (replacing any), or forget them (None)."""


class AssetRepository(Protocol):
    async def list(self, company_id: str) -> builtins.list[Asset]: ...
    async def get(self, company_id: str, asset_id: str) -> Asset | None: ...
    async def by_name(self, company_id: str, name: str) -> Asset | None: ...
    async def add(self, asset: Asset) -> None: ...
    async def update(self, asset: Asset) -> None: ...
    async def delete(self, company_id: str, asset_id: str) -> None: ...


class AlertRepository(Protocol):
    async def add(self, alert: Alert, incident_id: str | None) -> None: ...
    async def reassign(self, from_incident_id: str, to_incident_id: str) -> None: ...
    async def get(self, alert_id: str) -> tuple[Alert, str | None] | None: ...
    async def ids_for_incident(self, incident_id: str) -> builtins.list[str]: ...
    async def list(self, query: AlertQuery) -> Page[tuple[Alert, str | None]]: ...
    async def count(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> int: ...
    async def count_groups(self, query: AlertQuery) -> Mapping[tuple[Severity, AlertStatus], int]:
        """How many alerts match ``query`` (its cursor and limit ignored), per severity and
        status; combinations without alerts are absent. Counted by the store, not in Python."""

    async def count_buckets(
        self,
        company_ids: frozenset[str] | None,
        since: datetime,
        until: datetime | None,
        width: timedelta,
    ) -> Mapping[int, int]:
        """Alerts with ``since <= event_time < until`` (None: no end) per bucket index
        ``(event_time - since) // width``; empty buckets are absent. Counted by the store."""


async def sessions_key_by_key(
    incidents: IncidentRepository,
    company_id: str,
    ranges: Mapping[str, tuple[datetime, datetime] | None],
) -> dict[str, builtins.list[Incident]]:
    """:meth:`IncidentRepository.open_sessions_of_keys` answered through the single-key
    reads, one key at a time (what a store does once it holds every key's incidents)."""
    return {
        key: (
            await incidents.open_for_key(company_id, key)
            if span is None
            else await incidents.open_sessions(company_id, key, *span)
        )
        for key, span in ranges.items()
    }


class IncidentRepository(Protocol):
    async def get(self, incident_id: str) -> Incident | None: ...
    async def add(self, incident: Incident) -> None: ...
    async def update(self, incident: Incident) -> None: ...
    async def lock_key(self, company_id: str, key: str) -> None:
        """Serialize correlation of one (company, key) until the unit of work ends."""

    async def open_sessions(
        self, company_id: str, key: str, lo: datetime, hi: datetime
    ) -> builtins.list[Incident]:
        """Open, unmerged incidents of the key with ``last_event_at >= lo`` and
        ``first_event_at <= hi``, oldest first."""

    async def open_for_key(self, company_id: str, key: str) -> builtins.list[Incident]:
        """Every open, unmerged incident of the key, oldest first (resolution lookups)."""

    async def open_sessions_of_keys(
        self, company_id: str, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> Mapping[str, builtins.list[Incident]]:
        """:meth:`open_sessions` for several keys at once (a ``None`` range:
        :meth:`open_for_key`), every key of ``ranges`` in the answer. A delivery's keys are
        read in one round trip where the store allows, not one per key; call it once the
        keys are locked."""

    async def open_counts(self, user_ids: Sequence[str]) -> Mapping[str, int]: ...
    async def last_assignee(self, company_id: str) -> str | None: ...
    async def list(self, query: IncidentQuery) -> Page[Incident]: ...
    async def all_in_period(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> builtins.list[Incident]: ...
    async def count_groups(
        self, query: IncidentQuery
    ) -> Mapping[tuple[Severity, IncidentStatus], int]:
        """How many incidents :meth:`list` would show for ``query`` (its cursor and limit
        ignored), per severity and status; combinations without incidents are absent."""


class DeliveryRepository(Protocol):
    async def get(
        self, company_id: str, delivery_id: str, now: datetime
    ) -> DeliveryRecord | None: ...
    async def add(self, record: DeliveryRecord, expires_at: datetime) -> None:
        """Record a delivery; raise :class:`DuplicateDelivery` if a live one has the same id."""


class DeliveryCache(Protocol):
    """A fast memory of recent deliveries shared by every process, in front of the store.

    The unit of work's :class:`DeliveryRepository` stays the authority: a delivery is recorded
    there in the transaction that stores its alerts, and put in the cache only after that
    committed, so the cache never knows a delivery the store does not. A cache miss falls
    through to the store; a cache hit answers a repeat without opening a transaction.
    """

    async def get(self, company_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        """The live record of a delivery id, or None. Raises
        :class:`~alertwhisperer_core.errors.ServiceUnavailable` when the cache cannot answer
        (fail closed: the sender retries later)."""

    async def put(self, record: DeliveryRecord, expires_at: datetime, now: datetime) -> None:
        """Remember a committed delivery until ``expires_at``. Best effort: a failure is the
        adapter's to log, never raised (the store already holds the record)."""


class UserRepository(Protocol):
    async def get(self, user_id: str) -> User | None: ...
    async def by_email(self, email: str) -> User | None: ...
    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[User]: ...
    async def add(self, user: User) -> None: ...
    async def update(self, user: User) -> None: ...
    async def delete(self, user_id: str) -> None: ...


class RunbookRepository(Protocol):
    async def get(self, runbook_id: str) -> Runbook | None: ...
    async def for_company(self, company_id: str) -> builtins.list[Runbook]:
        """The company's own runbooks and the global ones."""

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Runbook]: ...
    async def add(self, runbook: Runbook) -> None: ...
    async def update(self, runbook: Runbook) -> None: ...
    async def delete(self, runbook_id: str) -> None: ...


class ApprovalRepository(Protocol):
    async def get(self, approval_id: str) -> ApprovalRequest | None: ...
    async def add(self, request: ApprovalRequest) -> None: ...
    async def update(self, request: ApprovalRequest) -> None: ...
    async def transition(self, request: ApprovalRequest, from_status: ApprovalStatus) -> bool:
        """Store ``request`` (its status and decision) only if the stored request is still in
        ``from_status``, in one conditional write; False, and nothing written, when it is not
        (absent, or moved on by another unit of work or process since it was read)."""

    async def list(
        self, company_ids: frozenset[str] | None, status: ApprovalStatus | None = None
    ) -> builtins.list[ApprovalRequest]: ...
    async def page(
        self,
        company_ids: frozenset[str] | None,
        status: ApprovalStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ApprovalRequest]:
        """What :meth:`list` answers (newest first), one keyset page at a time."""

    async def pending_due(self, now: datetime) -> builtins.list[ApprovalRequest]: ...


class ExecutionRepository(Protocol):
    """Runbook executions, kept so that a restart never forgets one in flight."""

    async def get(self, execution_id: str) -> Execution | None: ...
    async def add(self, execution: Execution) -> None: ...
    async def update(self, execution: Execution) -> None: ...
    async def claim(
        self, execution_id: str, started_at: datetime, executor: str
    ) -> Execution | None:
        """Move a ``Pending`` execution to ``InProgress`` (started at ``started_at`` by
        ``executor``) in one conditional write; the claimed execution, or None when it is not
        pending (absent, or already claimed by another unit of work or process)."""

    async def in_flight(self) -> builtins.list[Execution]:
        """Executions not yet in a terminal status, oldest first."""

    async def for_incident(
        self, incident_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[Execution]:
        """The executions of one incident, newest first (``created_at``, then id), one
        keyset page at a time; the cursor is ``encode_cursor(created_at.isoformat(), id)``."""


class ComplianceRepository(Protocol):
    """The patch-compliance cache: each company's instance states as of its last sync."""

    async def replace(
        self, company_id: str, states: Sequence[InstancePatchState], synced_at: datetime
    ) -> None:
        """Make ``states`` (one per instance id) the company's whole cache, synced at
        ``synced_at``; instances missing from ``states`` are forgotten."""

    async def states(self, company_id: str) -> builtins.list[InstancePatchState]:
        """The cached states, by instance id; empty before the first sync."""

    async def last_synced(self, company_id: str) -> datetime | None:
        """When the cache was last replaced; None before the first sync."""


class AuditLog(Protocol):
    """Append-only: there is deliberately no update or delete."""

    async def append(self, entry: AuditEntry) -> None: ...
    async def list(self, query: AuditQuery) -> Page[AuditEntry]: ...


@attrs.frozen
class AuthToken:
    """A bearer token, known to the store only by ``token_hash`` (SHA-256 of the token)."""

    token_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime


class TokenRepository(Protocol):
    """Bearer tokens issued at login; deleting one revokes it."""

    async def add(self, token: AuthToken) -> None: ...
    async def get(self, token_hash: str) -> AuthToken | None: ...
    async def delete(self, token_hash: str) -> None: ...
    async def delete_for_user(self, user_id: str) -> None: ...
    async def delete_expired(self, now: datetime) -> int:
        """Forget tokens with ``expires_at <= now``; returns how many were removed."""


@attrs.frozen
class LoginAttempts:
    """Recent failed logins for one e-mail address (lower-cased), whether or not a user has it.

    Kept in the shared store so a lockout holds across every server process.
    """

    email: str
    failures: int
    first_failure_at: datetime
    locked_until: datetime | None = None


class LoginAttemptRepository(Protocol):
    async def get(self, email: str) -> LoginAttempts | None: ...
    async def put(self, attempts: LoginAttempts) -> None:
        """Insert or replace the record of ``attempts.email``."""

    async def delete(self, email: str) -> None: ...


class NotificationRepository(Protocol):
    """Notifications per user, newest first (``created_at``, then id, both descending)."""

    async def add_many(self, notifications: Sequence[Notification]) -> None: ...
    async def list_for_user(
        self, user_id: str, unread_only: bool = False, cursor: str | None = None, limit: int = 50
    ) -> Page[Notification]: ...
    async def mark_read(self, user_id: str, notification_id: str, now: datetime) -> bool:
        """Mark one of ``user_id``'s notifications read (an already read one keeps its
        ``read_at``); False when ``user_id`` has no notification ``notification_id``."""

    async def mark_all_read(self, user_id: str, now: datetime) -> int:
        """Mark every unread notification of ``user_id`` read; returns how many."""

    async def unread_count(self, user_id: str) -> int: ...


class ChatRepository(Protocol):
    """Company chats: messages newest first (``created_at``, then id, both descending), and
    each user's read mark per company.

    A message is unread for a user when someone else wrote it after the user's read mark in
    that company (every message by someone else, before the user's first mark). One's own
    messages are never unread.
    """

    async def add(self, message: ChatMessage) -> None: ...
    async def list(
        self, company_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[ChatMessage]: ...
    async def mark_read(self, company_id: str, user_id: str, now: datetime) -> None:
        """Set the user's read mark in the company to ``now`` (insert or replace)."""

    async def unread_counts(self, user_id: str, company_ids: Sequence[str]) -> Mapping[str, int]:
        """Unread messages per company of ``company_ids`` (every one of them is a key)."""


class UnitOfWork(Protocol):
    """One transaction over every transactional store. Leaving the block without
    :meth:`commit` rolls everything back."""

    companies: CompanyRepository
    assets: AssetRepository
    alerts: AlertRepository
    incidents: IncidentRepository
    deliveries: DeliveryRepository
    users: UserRepository
    runbooks: RunbookRepository
    approvals: ApprovalRepository
    executions: ExecutionRepository
    compliance: ComplianceRepository
    audit: AuditLog
    tokens: TokenRepository
    login_attempts: LoginAttemptRepository
    notifications: NotificationRepository
    chat: ChatRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class RateLimiter(Protocol):
    """Token buckets per company; shared by all processes when a shared back end is set."""

    async def acquire(
        self, company_id: str, settings: RateLimitSettings, now: datetime
    ) -> RateDecision: ...


class ReplayGuard(Protocol):
    async def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        """Record ``key``; False if it was already recorded and has not expired (a replay)."""

    async def forget(self, key: str) -> None:
        """Undo :meth:`remember` for a request that was rejected by a later step."""


@attrs.frozen
class Event:
    """A real-time event (SPEC §10) for the users of ``company_id`` (and MSP admins)."""

    type: str
    company_id: str | None
    data: Mapping[str, Any]
    at: datetime


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...


class RunbookExecutor(Protocol):
    """Runs a runbook's shell actions on a target: AWS SSM, a local subprocess, or a dry run."""

    name: str

    async def run(
        self, *, instance_id: str | None, commands: Sequence[str], timeout_seconds: int
    ) -> CommandResult: ...


class HttpProbe(Protocol):
    """Answers a runbook's HTTP health check: the status ``url`` gives, seen from the target."""

    async def status(
        self, url: str, *, instance_id: str | None, timeout_seconds: float
    ) -> int | None:
        """The HTTP status code, or None when nothing answered (refused, timed out)."""


class PatchComplianceSource(Protocol):
    """Where patch state comes from (AWS Systems Manager Patch Manager)."""

    async def instance_states(self, company_id: str) -> builtins.list[InstancePatchState]: ...
