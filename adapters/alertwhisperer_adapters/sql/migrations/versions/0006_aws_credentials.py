"""Companies' own AWS credentials, sealed with a key derived from AW_SECRET_KEY.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Types are spelled out as in 0001 (identifiers byte-wise text).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "company_aws_credentials",
        sa.Column("company_id", _ID, primary_key=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", name="pk_company_aws_credentials"),
    )


def downgrade() -> None:
    op.drop_table("company_aws_credentials")
