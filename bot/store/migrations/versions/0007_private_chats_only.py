"""A user's chat is their private chat or none; counting messages no longer needs (or makes) a user row.

`users.chat_id` had been set to whatever chat the user last wrote in, groups included, so nudges and
broadcasts could be posted in a group. It now holds the private chat only (whose id is the user's id),
NULL for users seen only in groups; rows pointing at another chat are cleared, and queued broadcast
deliveries into such chats are marked failed rather than sent. `message_rate` loses its foreign key to
`users`, so that the flood counter can count strangers and forgotten users without creating a user.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE_RATE_FK = "fk_message_rate_user_id_users"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)
    op.execute("UPDATE users SET chat_id = NULL WHERE chat_id <> user_id")
    op.execute(
        "UPDATE broadcast_deliveries SET status = 'failed', error = 'not a private chat' "
        "WHERE status = 'queued' AND chat_id <> user_id"
    )
    with op.batch_alter_table("message_rate") as batch:
        batch.drop_constraint(MESSAGE_RATE_FK, type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM message_rate WHERE user_id NOT IN (SELECT user_id FROM users)")
    with op.batch_alter_table("message_rate") as batch:
        batch.create_foreign_key(MESSAGE_RATE_FK, "users", ["user_id"], ["user_id"], ondelete="CASCADE")
    op.execute("UPDATE users SET chat_id = user_id WHERE chat_id IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
