"""The bot's pace of sends to Telegram, kept in the database so that every replica draws on one budget.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        # seconds since the epoch of the next free sending slot, by the database server's clock
        sa.Column("next_slot", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_send_budget"),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
