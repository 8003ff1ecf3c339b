"""The schema as SQLAlchemy Core tables; `migrations/` creates exactly this."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

# Explicit names let later migrations (SQLite batch mode especially) refer to constraints.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only rowid-aliases INTEGER PRIMARY KEY, so surrogate keys are BIGINT elsewhere and INTEGER there.
Id = BigInteger().with_variant(Integer(), "sqlite")
USER_ID = "users.user_id"
STEP_STATUSES = ("todo", "started", "completed", "skipped")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone, so it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; store timezone-aware ones")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _user_fk() -> ForeignKey:
    return ForeignKey(USER_ID, ondelete="CASCADE")


users = Table(
    "users",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    # the user's private chat, where nudges and broadcasts go; NULL while they have written only in groups
    Column("chat_id", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("user_id", BigInteger, _user_fk(), primary_key=True, autoincrement=False),
    Column("current_role", Text),
    Column("target_role", Text),
    Column("target_domain", String(64)),
    Column("level", String(32)),
    Column("hours_per_week", Float),
    Column("budget_usd", Float),
    Column("preferred_providers", JSON, nullable=False),
    Column("experience_years", Float),
    Column("onboarded_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

learning_plans = Table(
    "learning_plans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, _user_fk(), nullable=False),
    Column("target_label", Text, nullable=False),
    Column("target_occupation", String(128)),
    Column("target_domain", String(64)),
    Column("hours_per_week", Float, nullable=False),
    Column("created_on", Date, nullable=False),
    Column("notes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id"),
)

plan_steps = Table(
    "plan_steps",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("plan_id", Id, ForeignKey("learning_plans.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("credential_id", String(128), nullable=False),
    Column("credential_name", Text, nullable=False),
    Column("start_week", Integer, nullable=False),
    Column("end_week", Integer, nullable=False),
    Column("study_hours", Float, nullable=False),
    Column("milestone", Text, nullable=False),
    Column("stage", String(16), nullable=False),
    UniqueConstraint("plan_id", "position"),
)

progress = Table(
    "progress",
    metadata,
    Column("user_id", BigInteger, _user_fk(), nullable=False),
    Column("credential_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "credential_id"),
    CheckConstraint("status IN ('todo', 'started', 'completed', 'skipped')", name="ck_progress_status"),
)

conversation_turns = Table(
    "conversation_turns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, _user_fk(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("question", Text, nullable=False),
    Column("intent", String(32), nullable=False),
    Column("facets", JSON, nullable=False),
    Column("recommendation_ids", JSON, nullable=False),
    Index(None, "chat_id", "id"),
    Index(None, "user_id"),
)

nudge_settings = Table(
    "nudge_settings",
    metadata,
    Column("user_id", BigInteger, _user_fk(), primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=False, server_default=false()),
    Column("weekday", Integer, nullable=False),
    Column("local_time", String(5), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("snoozed_until", Date),
    Column("last_tip_id", String(128)),
    Column("enabled_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_nudge_settings_weekday"),
)

NUDGE_STATUSES = ("pending", "sent", "failed", "missed")

# One row per user and ISO week: the primary key is what makes a weekly nudge happen at most once.
nudge_ledger = Table(
    "nudge_ledger",
    metadata,
    Column("user_id", BigInteger, _user_fk(), nullable=False),
    Column("week", String(8), nullable=False),  # ISO week of the due date in the user's zone, "2026-W49"
    Column("status", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("owner", String(64)),  # which bot process claimed it
    Column("error", String(300)),
    Column("sent_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "week", name="pk_nudge_ledger"),
    CheckConstraint(
        "status IN ('pending', 'sent', 'failed', 'missed')",
        name="ck_nudge_ledger_status",
    ),
    Index("ix_nudge_ledger_week_status", "week", "status"),
)

# Requests each user made to the language model per UTC day, for the daily cap.
llm_usage = Table(
    "llm_usage",
    metadata,
    Column("user_id", BigInteger, _user_fk(), nullable=False),
    Column("day", Date, nullable=False),
    Column("requests", Integer, nullable=False),
    PrimaryKeyConstraint("user_id", "day", name="pk_llm_usage"),
)

# Messages each user sent in their current one-minute window (see store/rate.py), counted here rather
# than in memory so that every replica of the bot draws on one allowance. No key to `users`: counting
# someone's messages must not make them a user (strangers, the forgotten); /forget deletes the row.
message_rate = Table(
    "message_rate",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("messages", Integer, nullable=False),  # refused ones included: the first beyond the limit is warned
)

conversation_states = Table(
    "conversation_states",
    metadata,
    Column("name", String(128), nullable=False),
    Column("key", Text, nullable=False),
    Column("user_id", BigInteger),
    Column("state", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("name", "key"),
    Index(None, "user_id"),
)

# The next free slot for a send to Telegram (see store/send_budget.py): one row that every replica reserves from,
# so that all of them together stay under the bot's limit of about 30 messages a second.
send_budget = Table(
    "send_budget",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("next_slot", Float(precision=53), nullable=False),
)

# Webhook updates already taken in, so an update Telegram delivers twice (or to two replicas) runs once.
processed_updates = Table(
    "processed_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "received_at"),
)

BROADCAST_STATUSES = ("draft", "sending", "done", "cancelled")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed")

# An admin's message to every user: written as a draft, sent only after the admin confirms it.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("created_by", BigInteger),  # the admin; set to NULL when that admin asks to be forgotten
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('draft', 'sending', 'done', 'cancelled')", name="ck_broadcasts_status"),
)

# One row per recipient, so a restart resumes a broadcast where it stopped and sends nobody a copy twice.
broadcast_deliveries = Table(
    "broadcast_deliveries",
    metadata,
    Column("broadcast_id", Id, ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", BigInteger, _user_fk(), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", String(300)),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("broadcast_id", "user_id", name="pk_broadcast_deliveries"),
    CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="ck_broadcast_deliveries_status"),
    Index("ix_broadcast_deliveries_broadcast_id_status", "broadcast_id", "status"),
)
