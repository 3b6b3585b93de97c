"""Collections and indexes, created at start (idempotently: creating what exists is a no-op).

Every collection is created up front: a transaction may create a collection implicitly, but
catalog changes under concurrent transactions make them fail, so none is left to chance.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid

from ._chat import CHAT_INDEXES
from ._compliance import COMPLIANCE, COMPLIANCE_INDEXES
from ._notifications import NOTIFICATION_INDEXES, NOTIFICATIONS

__all__ = [
    "ALERTS",
    "APPROVALS",
    "ASSETS",
    "AUDIT",
    "COLLECTIONS",
    "COMPANIES",
    "COMPANY_AWS_CREDENTIALS",
    "COMPANY_SECRETS",
    "DELIVERIES",
    "EXECUTIONS",
    "INCIDENTS",
    "KEY_LOCKS",
    "LOCK_IDLE_SECONDS",
    "LOGIN_ATTEMPTS",
    "MEMBERS",
    "PURGE_GRACE",
    "REPLAY_GUARD",
    "RUNBOOKS",
    "TOKENS",
    "USERS",
    "ensure_schema",
    "purge_at",
]

COMPANIES = "companies"
COMPANY_SECRETS = "company_secrets"
COMPANY_AWS_CREDENTIALS = "company_aws_credentials"
ASSETS = "assets"
ALERTS = "alerts"
# One counter per incident: the next position of an alert among the incident's alerts.
MEMBERS = "incident_members"
INCIDENTS = "incidents"
# One document per (company, aggregation key) ever correlated: writing it is the key's lock.
KEY_LOCKS = "key_locks"
DELIVERIES = "deliveries"
USERS = "users"
RUNBOOKS = "runbooks"
APPROVALS = "approvals"
EXECUTIONS = "executions"
AUDIT = "audit"
TOKENS = "tokens"
LOGIN_ATTEMPTS = "login_attempts"
REPLAY_GUARD = "replay_guard"

# A key's lock document is removed after a day without correlation; the next alert of the key
# creates it again. (Removing it is a write, so a transaction holding it still conflicts.)
LOCK_IDLE_SECONDS = 24 * 3600

_OPEN = {"is_open": True}
_UP, _DOWN = ASCENDING, DESCENDING

_INDEXES: dict[str, list[IndexModel]] = {
    COMPANIES: [
        # Companies without an API key ("") are not indexed, so any number may lack one.
        IndexModel(
            [("api_key_hash", _UP)],
            name="api_key_hash_unique",
            unique=True,
            partialFilterExpression={"api_key_hash": {"$gt": ""}},
        ),
    ],
    COMPANY_SECRETS: [],
    COMPANY_AWS_CREDENTIALS: [],
    ASSETS: [IndexModel([("company_id", _UP), ("name", _UP), ("_id", _UP)], name="company_name")],
    ALERTS: [
        IndexModel([("incident_id", _UP), ("member_seq", _UP)], name="incident_members"),
        IndexModel(
            [("company_id", _UP), ("received_at", _DOWN), ("_id", _DOWN)], name="company_received"
        ),
        IndexModel([("received_at", _DOWN), ("_id", _DOWN)], name="received"),
        IndexModel([("company_id", _UP), ("event_time", _UP)], name="company_event_time"),
    ],
    MEMBERS: [],
    INCIDENTS: [
        # Correlation: the open sessions of one key, by start.
        IndexModel(
            [("company_id", _UP), ("key", _UP), ("first_event_at", _UP), ("_id", _UP)],
            name="open_by_key",
            partialFilterExpression=_OPEN,
        ),
        IndexModel([("assigned_to", _UP)], name="open_by_assignee", partialFilterExpression=_OPEN),
        IndexModel(
            [("company_id", _UP), ("last_event_at", _DOWN), ("_id", _DOWN)], name="company_last"
        ),
        IndexModel([("last_event_at", _DOWN), ("_id", _DOWN)], name="last"),
        IndexModel([("company_id", _UP), ("first_event_at", _UP)], name="company_first"),
        IndexModel([("seq", _UP)], name="seq"),
        IndexModel(
            [("company_id", _UP), ("last_assigned_at", _DOWN), ("seq", _UP)],
            name="company_last_assigned",
        ),
    ],
    KEY_LOCKS: [
        IndexModel([("touched_at", _UP)], name="idle_ttl", expireAfterSeconds=LOCK_IDLE_SECONDS)
    ],
    DELIVERIES: [
        IndexModel([("company_id", _UP), ("delivery_id", _UP)], name="delivery", unique=True),
        IndexModel([("purge_at", _UP)], name="purge_ttl", expireAfterSeconds=0),
    ],
    USERS: [
        # Not unique: the ports accept two users with one address (the service refuses it).
        IndexModel([("email_lc", _UP), ("_id", _UP)], name="email"),
        IndexModel([("company_ids", _UP)], name="companies"),
    ],
    RUNBOOKS: [IndexModel([("company_id", _UP)], name="company")],
    APPROVALS: [
        IndexModel([("status", _UP), ("expires_at", _UP)], name="status_expiry"),
        IndexModel([("company_id", _UP), ("created_at", _DOWN)], name="company_created"),
        IndexModel([("created_at", _DOWN), ("_id", _DOWN)], name="created"),
    ],
    EXECUTIONS: [
        IndexModel([("status", _UP), ("created_at", _UP), ("_id", _UP)], name="status_created"),
        IndexModel(
            [("incident_id", _UP), ("created_at", _DOWN), ("_id", _DOWN)], name="incident_created"
        ),
    ],
    AUDIT: [
        IndexModel([("timestamp", _DOWN), ("_id", _DOWN)], name="timestamp"),
        IndexModel(
            [("company_id", _UP), ("timestamp", _DOWN), ("_id", _DOWN)], name="company_timestamp"
        ),
    ],
    TOKENS: [
        IndexModel([("user_id", _UP)], name="user"),
        IndexModel([("expires_at", _UP)], name="expiry"),
    ],
    LOGIN_ATTEMPTS: [],
    REPLAY_GUARD: [IndexModel([("purge_at", _UP)], name="purge_ttl", expireAfterSeconds=0)],
    NOTIFICATIONS: NOTIFICATION_INDEXES,
    COMPLIANCE: COMPLIANCE_INDEXES,
    **CHAT_INDEXES,
}

COLLECTIONS = tuple(_INDEXES)


async def _ensure(db: AsyncDatabase[Any], name: str) -> None:
    if _INDEXES[name]:
        await db[name].create_indexes(_INDEXES[name])  # creates the collection too
        return
    with contextlib.suppress(CollectionInvalid):  # it exists already
        await db.create_collection(name)


async def ensure_schema(db: AsyncDatabase[Any]) -> None:
    """Create every collection and index this adapter uses (concurrently; idempotent)."""
    await asyncio.gather(*(_ensure(db, name) for name in _INDEXES))


# Expired delivery ids and replay-guard keys stay this long past their expiry before the TTL
# monitor removes them: reads filter on ``expires_at`` anyway, so this only has to outlast any
# difference between the application's clock and the database server's.
PURGE_GRACE = timedelta(hours=1)


def purge_at(expires_at: datetime, now: datetime) -> datetime:
    """When the TTL monitor may remove a record kept from ``now`` until ``expires_at``.

    MongoDB's TTL monitor compares with the server's wall clock, while the core's ``now`` may
    be any instant (a replay of last month's storm, a test's manual clock). So the record's
    lifetime is laid on the wall clock from the moment it is written: never removed while a
    caller whose clock agrees with ``now`` could still find it live.
    """
    return datetime.now(UTC) + (expires_at - now) + PURGE_GRACE
