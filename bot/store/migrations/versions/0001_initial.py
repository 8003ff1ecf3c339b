"""Initial schema: users, profiles, plans, progress, turns, nudge settings, conversation states.

Revision ID: 0001
Revises:
Create Date: 2026-11-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only rowid-aliases INTEGER PRIMARY KEY; elsewhere surrogate keys are BIGINT.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_users"),
    )
    op.create_table(
        "profiles",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("current_role", sa.Text()),
        sa.Column("target_role", sa.Text()),
        sa.Column("target_domain", sa.String(64)),
        sa.Column("level", sa.String(32)),
        sa.Column("hours_per_week", sa.Float()),
        sa.Column("budget_usd", sa.Float()),
        sa.Column("preferred_providers", sa.JSON(), nullable=False),
        sa.Column("experience_years", sa.Float()),
        sa.Column("onboarded_at", TIMESTAMP),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_profiles"),
        _user_fk("profiles"),
    )
    op.create_table(
        "learning_plans",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("target_label", sa.Text(), nullable=False),
        sa.Column("target_occupation", sa.String(128)),
        sa.Column("target_domain", sa.String(64)),
        sa.Column("hours_per_week", sa.Float(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_learning_plans"),
        sa.UniqueConstraint("user_id", name="uq_learning_plans_user_id"),  # one active plan per user
        _user_fk("learning_plans"),
    )
    op.create_table(
        "plan_steps",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(128), nullable=False),
        sa.Column("credential_name", sa.Text(), nullable=False),
        sa.Column("start_week", sa.Integer(), nullable=False),
        sa.Column("end_week", sa.Integer(), nullable=False),
        sa.Column("study_hours", sa.Float(), nullable=False),
        sa.Column("milestone", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plan_steps"),
        sa.UniqueConstraint("plan_id", "position", name="uq_plan_steps_plan_id_position"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["learning_plans.id"], name="fk_plan_steps_plan_id_learning_plans", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "progress",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("credential_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "credential_id", name="pk_progress"),
        sa.CheckConstraint("status IN ('todo', 'started', 'completed', 'skipped')", name="ck_progress_status"),
        _user_fk("progress"),
    )
    op.create_table(
        "conversation_turns",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("facets", sa.JSON(), nullable=False),
        sa.Column("recommendation_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_turns"),
        _user_fk("conversation_turns"),
    )
    # recent turns of a chat, newest first; trimming
    op.create_index("ix_conversation_turns_chat_id_id", "conversation_turns", ["chat_id", "id"])
    op.create_index("ix_conversation_turns_user_id", "conversation_turns", ["user_id"])
    op.create_table(
        "nudge_settings",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),  # Monday = 0
        sa.Column("local_time", sa.String(5), nullable=False),  # "HH:MM" in the user's time zone
        sa.Column("timezone", sa.String(64), nullable=False),  # IANA name
        sa.Column("snoozed_until", sa.Date()),
        sa.Column("last_tip_id", sa.String(128)),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_nudge_settings"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_nudge_settings_weekday"),
        _user_fk("nudge_settings"),
    )
    op.create_table(
        "conversation_states",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),  # JSON list of the conversation key
        sa.Column("user_id", sa.BigInteger()),  # set for (chat_id, user_id) keys, so forgetting a user finds it
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name="pk_conversation_states"),
    )
    op.create_index("ix_conversation_states_user_id", "conversation_states", ["user_id"])


def downgrade() -> None:
    op.drop_table("conversation_states")
    op.drop_table("nudge_settings")
    op.drop_table("conversation_turns")
    op.drop_table("progress")
    op.drop_table("plan_steps")
    op.drop_table("learning_plans")
    op.drop_table("profiles")
    op.drop_table("users")
