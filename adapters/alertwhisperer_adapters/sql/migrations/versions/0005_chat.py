"""Company chat: messages, and each user's read mark per company.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Types are spelled out as in 0001 (instants: ``timestamptz`` on PostgreSQL, integer
microseconds on SQLite; identifiers byte-wise text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _col(name: str, type_: sa.types.TypeEngine[Any], null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=null)


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", _ID, primary_key=True),
        _col("company_id", _ID),
        _col("user_id", _ID),
        _col("user_name", sa.Text()),
        _col("body", sa.Text()),
        _col("created_at", _TS),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
    )
    op.create_index(
        "ix_chat_messages_company_id_created_at_id",
        "chat_messages",
        ["company_id", "created_at", "id"],
    )
    op.create_table(
        "chat_reads",
        sa.Column("company_id", _ID, primary_key=True),
        sa.Column("user_id", _ID, primary_key=True),
        _col("read_at", _TS),
        sa.PrimaryKeyConstraint("company_id", "user_id", name="pk_chat_reads"),
    )


def downgrade() -> None:
    op.drop_table("chat_reads")
    op.drop_table("chat_messages")
