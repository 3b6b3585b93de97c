"""Initial schema: every repository's table, its indexes, and the append-only audit trigger.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Types are spelled out here rather than imported, so this migration keeps meaning what it
meant when later ones change the application's types: instants are ``timestamptz`` on
PostgreSQL and integer microseconds since the epoch on SQLite; identifiers are ``text``
compared byte-wise (``COLLATE "C"``) on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OPEN_PG = sa.text("is_open")
_OPEN_SQLITE = sa.text("is_open = 1")  # the spelling of SQLite queries, or the index is not used


def _col(name: str, type_: Any, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=null)


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", _ID, primary_key=True),
        _col("name", sa.Text()),
        _col("created_at", _TS),
        _col("settings", sa.Text()),
        _col("api_key_hash", sa.Text()),
        _col("hmac_enabled", sa.Boolean()),
        sa.PrimaryKeyConstraint("id", name="pk_companies"),
    )
    op.create_index("ix_companies_api_key_hash", "companies", ["api_key_hash"])

    op.create_table(
        "company_secrets",
        sa.Column("company_id", _ID, primary_key=True),
        _col("ciphertext", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("company_id", name="pk_company_secrets"),
    )

    op.create_table(
        "assets",
        sa.Column("id", _ID, primary_key=True),
        _col("company_id", _ID),
        _col("name", sa.Text()),
        _col("type", sa.Text()),
        _col("os", sa.Text()),
        _col("environment", sa.Text()),
        _col("is_critical", sa.Boolean()),
        _col("instance_id", sa.Text(), null=True),
        _col("tags", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
    )
    op.create_index("ix_assets_company_id_name", "assets", ["company_id", "name"])

    op.create_table(
        "alerts",
        sa.Column("member_seq", _SERIAL, primary_key=True, autoincrement=True),
        _col("id", _ID),
        _col("company_id", _ID),
        _col("incident_id", _ID, null=True),
        _col("asset_name", sa.Text()),
        _col("signature", sa.Text()),
        _col("severity", sa.Text()),
        _col("status", sa.Text()),
        _col("message", sa.Text()),
        _col("tool_source", sa.Text()),
        _col("event_time", _TS),
        _col("received_at", _TS),
        _col("labels", sa.Text()),
        _col("delivery_id", sa.Text()),
        _col("fingerprint", sa.Text(), null=True),
        _col("source", sa.Text()),
        _col("event_time_clamped", sa.Boolean()),
        _col("raw", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("member_seq", name="pk_alerts"),
        sa.UniqueConstraint("id", name="uq_alerts_id"),
    )
    op.create_index("ix_alerts_incident_id_member_seq", "alerts", ["incident_id", "member_seq"])
    op.create_index(
        "ix_alerts_company_id_received_at_id", "alerts", ["company_id", "received_at", "id"]
    )
    op.create_index("ix_alerts_received_at_id", "alerts", ["received_at", "id"])
    op.create_index("ix_alerts_company_id_event_time", "alerts", ["company_id", "event_time"])

    op.create_table(
        "incidents",
        sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
        _col("id", _ID),
        _col("company_id", _ID),
        _col("key", _ID),
        _col("asset_name", sa.Text()),
        _col("signature", sa.Text()),
        _col("severity", sa.Text()),
        _col("status", sa.Text()),
        _col("alert_count", sa.Integer()),
        _col("tool_sources", sa.Text()),
        _col("first_event_at", _TS),
        _col("last_event_at", _TS),
        _col("created_at", _TS),
        _col("firing_fingerprints", sa.Text()),
        _col("resolution", sa.Text(), null=True),
        _col("resolved_at", _TS, null=True),
        _col("assigned_to", _ID, null=True),
        _col("notes", sa.Text()),
        _col("timeline", sa.Text()),
        _col("merged_into", _ID, null=True),
        _col("in_maintenance", sa.Boolean()),
        _col("is_open", sa.Boolean()),
        _col("last_assigned_at", _TS, null=True),
        sa.PrimaryKeyConstraint("seq", name="pk_incidents"),
        sa.UniqueConstraint("id", name="uq_incidents_id"),
    )
    op.create_index(
        "ix_incidents_open_key",
        "incidents",
        ["company_id", "key", "first_event_at"],
        postgresql_where=_OPEN_PG,
        sqlite_where=_OPEN_SQLITE,
    )
    op.create_index(
        "ix_incidents_open_assignee",
        "incidents",
        ["assigned_to"],
        postgresql_where=_OPEN_PG,
        sqlite_where=_OPEN_SQLITE,
    )
    op.create_index(
        "ix_incidents_company_id_last_event_at_id",
        "incidents",
        ["company_id", "last_event_at", "id"],
    )
    op.create_index("ix_incidents_last_event_at_id", "incidents", ["last_event_at", "id"])
    op.create_index(
        "ix_incidents_company_id_first_event_at", "incidents", ["company_id", "first_event_at"]
    )
    op.create_index(
        "ix_incidents_company_id_last_assigned_at",
        "incidents",
        ["company_id", "last_assigned_at"],
    )
    _lock_and_read_function()

    op.create_table(
        "deliveries",
        sa.Column("company_id", _ID, primary_key=True),
        sa.Column("delivery_id", _ID, primary_key=True),
        _col("alert_ids", sa.Text()),
        _col("incident_ids", sa.Text()),
        _col("first_seen_at", _TS),
        _col("expires_at", _TS),
        sa.PrimaryKeyConstraint("company_id", "delivery_id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_expires_at", "deliveries", ["expires_at"])

    op.create_table(
        "users",
        sa.Column("id", _ID, primary_key=True),
        _col("email", sa.Text()),
        _col("email_lc", sa.Text()),
        _col("name", sa.Text()),
        _col("role", sa.Text()),
        _col("password_hash", sa.Text()),
        _col("active", sa.Boolean()),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("ix_users_email_lc", "users", ["email_lc"])

    op.create_table(
        "user_companies",
        sa.Column("user_id", _ID, primary_key=True),
        sa.Column("company_id", _ID, primary_key=True),
        sa.PrimaryKeyConstraint("user_id", "company_id", name="pk_user_companies"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_user_companies_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_user_companies_company_id", "user_companies", ["company_id"])

    op.create_table(
        "runbooks",
        sa.Column("id", _ID, primary_key=True),
        _col("company_id", _ID, null=True),
        _col("name", sa.Text()),
        _col("signature", sa.Text()),
        _col("risk", sa.Text()),
        _col("actions", sa.Text()),
        _col("description", sa.Text()),
        _col("health_check", sa.Text(), null=True),
        _col("timeout_seconds", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_runbooks"),
    )
    op.create_index("ix_runbooks_company_id", "runbooks", ["company_id"])

    op.create_table(
        "approvals",
        sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
        _col("id", _ID),
        _col("company_id", _ID),
        _col("incident_id", _ID),
        _col("runbook_id", _ID),
        _col("risk", sa.Text()),
        _col("requested_by", sa.Text()),
        _col("status", sa.Text()),
        _col("created_at", _TS),
        _col("expires_at", _TS),
        _col("decided_by", sa.Text(), null=True),
        _col("decided_at", _TS, null=True),
        _col("notes", sa.Text()),
        sa.PrimaryKeyConstraint("seq", name="pk_approvals"),
        sa.UniqueConstraint("id", name="uq_approvals_id"),
    )
    op.create_index("ix_approvals_status_expires_at", "approvals", ["status", "expires_at"])
    op.create_index("ix_approvals_company_id_created_at", "approvals", ["company_id", "created_at"])

    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True),
        _col("timestamp", _TS),
        _col("user_id", _ID, null=True),
        _col("user_name", sa.Text()),
        _col("action", sa.Text()),
        _col("details", sa.Text()),
        _col("company_id", _ID, null=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_timestamp_id", "audit", ["timestamp", "id"])
    op.create_index("ix_audit_company_id_timestamp_id", "audit", ["company_id", "timestamp", "id"])
    _audit_append_only()

    op.create_table(
        "replay_guard",
        sa.Column("key", _ID, primary_key=True),
        _col("expires_at", _TS),
        sa.PrimaryKeyConstraint("key", name="pk_replay_guard"),
    )
    op.create_index("ix_replay_guard_expires_at", "replay_guard", ["expires_at"])

    op.create_table(
        "tokens",
        sa.Column("token_hash", _ID, primary_key=True),
        _col("user_id", _ID),
        _col("created_at", _TS),
        _col("expires_at", _TS),
        sa.PrimaryKeyConstraint("token_hash", name="pk_tokens"),
    )
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])
    op.create_index("ix_tokens_expires_at", "tokens", ["expires_at"])

    op.create_table(
        "login_attempts",
        sa.Column("email", _ID, primary_key=True),
        _col("failures", sa.Integer()),
        _col("first_failure_at", _TS),
        _col("locked_until", _TS, null=True),
        sa.PrimaryKeyConstraint("email", name="pk_login_attempts"),
    )


def _lock_and_read_function() -> None:
    """PostgreSQL: take a key's advisory lock, then read its open incidents, in one call.

    The SELECT runs after the lock is granted with a snapshot of its own (a volatile
    function's statements each take one under READ COMMITTED), so it sees everything the
    previous holder committed: the same as two statements, in one round trip.
    """
    if op.get_context().dialect.name == "sqlite":
        return
    op.execute(
        "CREATE FUNCTION aw_lock_open_incidents(p_lock bigint, p_company text, p_key text, "
        "p_lo timestamptz, p_hi timestamptz) RETURNS SETOF incidents "
        "LANGUAGE plpgsql VOLATILE AS $$ BEGIN "
        "PERFORM pg_advisory_xact_lock(p_lock); "
        "RETURN QUERY SELECT * FROM incidents WHERE company_id = p_company AND key = p_key "
        "AND is_open AND (p_lo IS NULL OR last_event_at >= p_lo) "
        "AND (p_hi IS NULL OR first_event_at <= p_hi); "
        "END $$"
    )


def _audit_append_only() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE) of audit rows in the database itself."""
    if op.get_context().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_append_only_{event.lower()} BEFORE {event} ON audit "
                "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION aw_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
        "FOR EACH ROW EXECUTE FUNCTION aw_audit_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION aw_audit_append_only()"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit")
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS aw_audit_append_only()")
        op.execute(
            "DROP FUNCTION IF EXISTS aw_lock_open_incidents(bigint, text, text, "
            "timestamptz, timestamptz)"
        )
    for table in (
        "login_attempts",
        "tokens",
        "replay_guard", "audit", "approvals", "runbooks", "user_companies", "users",
        "deliveries", "incidents", "alerts", "assets", "company_secrets", "companies",
    ):  # fmt: skip
        op.drop_table(table)
