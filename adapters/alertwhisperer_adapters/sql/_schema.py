"""The SQL schema (SQLAlchemy Core): one table per record kind, plus membership and secrets.

The migrations under ``migrations/versions`` create exactly this; a test compares them.
Design notes (``docs/persistence.md`` has the full story):

- Records whose list order is "insertion order" in the in-memory store (alerts of an
  incident, incidents, approvals) carry an integer ``seq``/``member_seq`` primary key, an
  SQLite rowid alias or a PostgreSQL ``bigserial``; their string ``id`` is a unique key.
- There are no foreign keys between domain tables: a unit of work may write an alert before
  the incident it belongs to (the ingest use case does), and referential rules are the core's.
  The one foreign key is internal: a user's company memberships go with the user.
- Derived columns (``incidents.is_open``, ``incidents.last_assigned_at``, ``users.email_lc``)
  are computed by the mapping on every write, so indexes can serve the queries the ports ask.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)

from ._types import Identifier, UtcDateTime

__all__ = [
    "alerts",
    "approvals",
    "assets",
    "audit",
    "companies",
    "company_aws_credentials",
    "company_secrets",
    "deliveries",
    "incidents",
    "login_attempts",
    "metadata",
    "replay_guard",
    "runbooks",
    "tokens",
    "user_companies",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# An SQLite rowid alias (cheap, monotonic) and a PostgreSQL bigserial. The database fills
# it in (FetchedValue); statements neither send it nor read it back.
_Serial = BigInteger().with_variant(Integer(), "sqlite")
# SQLite writes a boolean test as ``is_open = 1``; its planner uses a partial index only
# when the query repeats the index's WHERE term, so each dialect gets its own spelling.
_OPEN_PG = text("is_open")
_OPEN_SQLITE = text("is_open = 1")

companies = Table(
    "companies",
    metadata,
    Column("id", Identifier, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("settings", Text, nullable=False),
    Column("api_key_hash", Text, nullable=False),
    Column("hmac_enabled", Boolean, nullable=False),
    Index(None, "api_key_hash"),
)

# HMAC secrets must be usable to verify signatures, so they are encrypted, never hashed; kept
# apart from ``companies`` so that listing companies never reads ciphertext.
company_secrets = Table(
    "company_secrets",
    metadata,
    Column("company_id", Identifier, primary_key=True),
    Column("ciphertext", LargeBinary, nullable=False),
)

# A company's own AWS credentials, sealed whole (region, key id or role ARN, secrets) with a key
# of their own derived from AW_SECRET_KEY; see ``_crypto.seal_aws_credentials``.
company_aws_credentials = Table(
    "company_aws_credentials",
    metadata,
    Column("company_id", Identifier, primary_key=True),
    Column("ciphertext", LargeBinary, nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("id", Identifier, primary_key=True),
    Column("company_id", Identifier, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("os", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("is_critical", Boolean, nullable=False),
    Column("instance_id", Text, nullable=True),
    Column("tags", Text, nullable=False),
    Index(None, "company_id", "name"),
)

alerts = Table(
    "alerts",
    metadata,
    # Position among the alerts of an incident: new alerts take the next value, alerts moved
    # by a merge take fresh values, so ``ids_for_incident`` keeps the in-memory order.
    Column("member_seq", _Serial, FetchedValue(), primary_key=True, autoincrement=False),
    Column("id", Identifier, nullable=False, unique=True),
    Column("company_id", Identifier, nullable=False),
    Column("incident_id", Identifier, nullable=True),
    Column("asset_name", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("tool_source", Text, nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("labels", Text, nullable=False),
    Column("delivery_id", Text, nullable=False),
    Column("fingerprint", Text, nullable=True),
    Column("source", Text, nullable=False),
    Column("event_time_clamped", Boolean, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Index(None, "incident_id", "member_seq"),
    Index(None, "company_id", "received_at", "id"),
    Index(None, "received_at", "id"),
    Index(None, "company_id", "event_time"),
    # The serial key is never read back after an insert: no RETURNING for it.
    implicit_returning=False,
)

incidents = Table(
    "incidents",
    metadata,
    Column("seq", _Serial, FetchedValue(), primary_key=True, autoincrement=False),
    Column("id", Identifier, nullable=False, unique=True),
    Column("company_id", Identifier, nullable=False),
    Column("key", Identifier, nullable=False),
    Column("asset_name", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("alert_count", Integer, nullable=False),
    Column("tool_sources", Text, nullable=False),
    Column("first_event_at", UtcDateTime, nullable=False),
    Column("last_event_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("firing_fingerprints", Text, nullable=False),
    Column("resolution", Text, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("assigned_to", Identifier, nullable=True),
    Column("notes", Text, nullable=False),
    Column("timeline", Text, nullable=False),
    Column("merged_into", Identifier, nullable=True),
    Column("in_maintenance", Boolean, nullable=False),
    # Derived: not resolved and not merged (what correlation and open counts look at).
    Column("is_open", Boolean, nullable=False),
    # Derived: the latest "assigned" timeline entry (else created_at) when assigned.
    Column("last_assigned_at", UtcDateTime, nullable=True),
    Index(
        "ix_incidents_open_key",
        "company_id",
        "key",
        "first_event_at",
        postgresql_where=_OPEN_PG,
        sqlite_where=_OPEN_SQLITE,
    ),
    Index(
        "ix_incidents_open_assignee",
        "assigned_to",
        postgresql_where=_OPEN_PG,
        sqlite_where=_OPEN_SQLITE,
    ),
    Index(None, "company_id", "last_event_at", "id"),
    Index(None, "last_event_at", "id"),
    Index(None, "company_id", "first_event_at"),
    Index(None, "company_id", "last_assigned_at"),
    implicit_returning=False,
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("company_id", Identifier, primary_key=True),
    Column("delivery_id", Identifier, primary_key=True),
    Column("alert_ids", Text, nullable=False),
    Column("incident_ids", Text, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
)

users = Table(
    "users",
    metadata,
    Column("id", Identifier, primary_key=True),
    Column("email", Text, nullable=False),
    Column("email_lc", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Index(None, "email_lc"),
)

user_companies = Table(
    "user_companies",
    metadata,
    Column(
        "user_id",
        Identifier,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("company_id", Identifier, primary_key=True),
    Index(None, "company_id"),
)

runbooks = Table(
    "runbooks",
    metadata,
    Column("id", Identifier, primary_key=True),
    Column("company_id", Identifier, nullable=True),
    Column("name", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("risk", Text, nullable=False),
    Column("actions", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("health_check", Text, nullable=True),
    Column("timeout_seconds", Integer, nullable=False),
    Index(None, "company_id"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("seq", _Serial, FetchedValue(), primary_key=True, autoincrement=False),
    Column("id", Identifier, nullable=False, unique=True),
    Column("company_id", Identifier, nullable=False),
    Column("incident_id", Identifier, nullable=False),
    Column("runbook_id", Identifier, nullable=False),
    Column("risk", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("notes", Text, nullable=False),
    Index(None, "status", "expires_at"),
    Index(None, "company_id", "created_at"),
    implicit_returning=False,
)

# Append-only: the adapter has no update or delete statement for it, and a trigger refuses
# both at the database (see the initial migration).
audit = Table(
    "audit",
    metadata,
    Column("id", Identifier, primary_key=True),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("user_id", Identifier, nullable=True),
    Column("user_name", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("company_id", Identifier, nullable=True),
    Index(None, "timestamp", "id"),
    Index(None, "company_id", "timestamp", "id"),
)

replay_guard = Table(
    "replay_guard",
    metadata,
    Column("key", Identifier, primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
)

# Bearer tokens, known only by the SHA-256 the core computes (never the token itself).
tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", Identifier, primary_key=True),
    Column("user_id", Identifier, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("email", Identifier, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failure_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
)
