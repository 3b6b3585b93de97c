"""Patch compliance: each company's cached instance patch states and when they were synced.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Types are spelled out as in 0001 (instants: ``timestamptz`` on PostgreSQL, integer
microseconds on SQLite; identifiers byte-wise text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _col(name: str, type_: sa.types.TypeEngine[Any], null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=null)


def upgrade() -> None:
    op.create_table(
        "patch_states",
        sa.Column("company_id", _ID, primary_key=True),
        sa.Column("instance_id", _ID, primary_key=True),
        _col("environment", sa.Text()),
        _col("installed", sa.Integer()),
        _col("missing", sa.Integer()),
        _col("critical_missing", sa.Integer()),
        _col("security_missing", sa.Integer()),
        _col("failed", sa.Integer()),
        _col("last_operation_at", _TS, null=True),
        sa.PrimaryKeyConstraint("company_id", "instance_id", name="pk_patch_states"),
    )
    op.create_table(
        "compliance_syncs",
        sa.Column("company_id", _ID, primary_key=True),
        _col("synced_at", _TS),
        sa.PrimaryKeyConstraint("company_id", name="pk_compliance_syncs"),
    )


def downgrade() -> None:
    op.drop_table("compliance_syncs")
    op.drop_table("patch_states")
