"""Weekly nudges: the ledger that makes each nudge happen once, and when a user opted in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nudge_ledger",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),  # ISO week of the due date in the user's zone
        sa.Column("status", sa.String(16), nullable=False),  # pending | sent | failed | missed
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("error", sa.String(300)),
        sa.Column("sent_at", TIMESTAMP),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "week", name="pk_nudge_ledger"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'missed')", name="ck_nudge_ledger_status"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name="fk_nudge_ledger_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_nudge_ledger_week_status", "nudge_ledger", ["week", "status"])
    with op.batch_alter_table("nudge_settings") as batch:
        batch.add_column(sa.Column("enabled_at", TIMESTAMP))


def downgrade() -> None:
    with op.batch_alter_table("nudge_settings") as batch:
        batch.drop_column("enabled_at")
    op.drop_index("ix_nudge_ledger_week_status", table_name="nudge_ledger")
    op.drop_table("nudge_ledger")
