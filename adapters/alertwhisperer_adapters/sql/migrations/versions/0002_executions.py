"""Runbook executions: one row per run, so a restart never forgets one in flight.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Types are spelled out as in 0001 (instants: ``timestamptz`` on PostgreSQL, integer
microseconds on SQLite; identifiers byte-wise text).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _col(name: str, type_: sa.types.TypeEngine[object], null: bool = False) -> sa.Column[object]:
    return sa.Column(name, type_, nullable=null)


def upgrade() -> None:
    op.create_table(
        "executions",
        sa.Column("id", _ID, primary_key=True),
        _col("company_id", _ID),
        _col("incident_id", _ID),
        _col("runbook_id", _ID),
        _col("status", sa.Text()),
        _col("created_at", _TS),
        _col("requested_by", sa.Text()),
        _col("approval_id", _ID, null=True),
        _col("executor", sa.Text()),
        _col("command_id", sa.Text(), null=True),
        _col("output", sa.Text()),
        _col("started_at", _TS, null=True),
        _col("finished_at", _TS, null=True),
        _col("health_check_passed", sa.Boolean(), null=True),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
    )
    op.create_index("ix_executions_status_created_at", "executions", ["status", "created_at"])
    op.create_index("ix_executions_incident_id", "executions", ["incident_id"])


def downgrade() -> None:
    op.drop_table("executions")
