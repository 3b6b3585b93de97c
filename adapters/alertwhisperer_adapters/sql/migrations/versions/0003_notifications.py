"""Notifications: one row per user and message, with its read state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Types are spelled out as in 0001 (instants: ``timestamptz`` on PostgreSQL, integer
microseconds on SQLite; identifiers byte-wise text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _col(name: str, type_: sa.types.TypeEngine[Any], null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=null)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", _ID, primary_key=True),
        _col("user_id", _ID),
        _col("company_id", _ID, null=True),
        _col("type", sa.Text()),
        _col("title", sa.Text()),
        _col("body", sa.Text()),
        _col("link_type", sa.Text()),
        _col("link_id", _ID),
        _col("created_at", _TS),
        _col("read_at", _TS, null=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index(
        "ix_notifications_user_id_created_at_id",
        "notifications",
        ["user_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("notifications")
