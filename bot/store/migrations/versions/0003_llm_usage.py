"""LLM mode: requests per user and day, for the daily cap.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", name="pk_llm_usage"),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name="fk_llm_usage_user_id_users", ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("llm_usage")
