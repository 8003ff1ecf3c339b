"""How long each kind of row is kept, and the pruning that enforces it (a daily job calls `prune`).

Every delete picks its rows by age alone, so running the job twice, or on two replicas at once, deletes
each row once; the second run finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import Delete, delete, or_, select

from bot.store.base import Repository
from bot.store.errors import translated
from bot.store.rate import KEEP_WINDOWS
from bot.store.tables import (
    broadcast_deliveries,
    broadcasts,
    conversation_states,
    conversation_turns,
    llm_usage,
    message_rate,
    nudge_ledger,
    processed_updates,
    users,
)
from bot.store.updates import KEEP_FOR as UPDATE_IDS_KEPT_FOR
from bot.store.users import delete_rows_about

# Users forgotten per transaction: short transactions keep the bot answering while a large backlog goes.
FORGET_BATCH = 200
# Rate windows idle this long are over on every replica (the guard counts in one-minute windows).
IDLE_RATE_WINDOWS = KEEP_WINDOWS * dt.timedelta(minutes=1)


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of data is kept; 0 keeps it for good."""

    turns_days: int = 90  # the questions of each chat, kept for follow-ups
    ledger_days: int = 400  # weekly-nudge ledger, model answers per day, broadcast deliveries
    inactive_user_days: int = 730  # a user not seen for this long is forgotten entirely, as by /forget
    questionnaire_days: int = 30  # an interrupted questionnaire's position

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"{field.name} must be 0 (keep) or a number of days")


@dataclass(frozen=True)
class Pruned:
    """What one run deleted: rows per kind, and the users forgotten for inactivity."""

    turns: int = 0
    nudge_ledger: int = 0
    llm_usage: int = 0
    broadcast_deliveries: int = 0
    broadcasts: int = 0
    processed_updates: int = 0
    message_rate: int = 0
    questionnaires: int = 0
    forgotten_users: tuple[int, ...] = ()

    def summary(self) -> str:
        """Counts only, for the log: user ids stay out of it."""
        counts = [f"{f.name}={getattr(self, f.name)}" for f in fields(self) if f.name != "forgotten_users"]
        return " ".join([*counts, f"forgotten_users={len(self.forgotten_users)}"])


def _cutoff(now: dt.datetime, days: int) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days else None


class RetentionRepository(Repository):
    @translated
    async def prune(self, now: dt.datetime, policy: RetentionPolicy) -> Pruned:
        """Delete what `policy` no longer keeps at `now`; the counts of what went."""
        forgotten: tuple[int, ...] = ()
        if (seen_before := _cutoff(now, policy.inactive_user_days)) is not None:
            forgotten = await self._forget_inactive(seen_before)  # first: their rows are not counted twice
        counts: dict[str, int] = {}
        if (cutoff := _cutoff(now, policy.turns_days)) is not None:
            counts["turns"] = await self._delete(
                delete(conversation_turns).where(conversation_turns.c.created_at < cutoff)
            )
        if (cutoff := _cutoff(now, policy.ledger_days)) is not None:
            counts["nudge_ledger"] = await self._delete(delete(nudge_ledger).where(nudge_ledger.c.due_at < cutoff))
            counts["llm_usage"] = await self._delete(delete(llm_usage).where(llm_usage.c.day < cutoff.date()))
            counts.update(await self._prune_broadcasts(cutoff))
        if (cutoff := _cutoff(now, policy.questionnaire_days)) is not None:
            counts["questionnaires"] = await self._delete(
                delete(conversation_states).where(conversation_states.c.updated_at < cutoff)
            )
        # Fixed windows, not settings: past them these rows have no use at all.
        counts["processed_updates"] = await self._delete(
            delete(processed_updates).where(processed_updates.c.received_at < now - UPDATE_IDS_KEPT_FOR)
        )
        counts["message_rate"] = await self._delete(
            delete(message_rate).where(message_rate.c.window_start < now - IDLE_RATE_WINDOWS)
        )
        return Pruned(**counts, forgotten_users=forgotten)

    async def _forget_inactive(self, seen_before: dt.datetime) -> tuple[int, ...]:
        forgotten: list[int] = []
        while True:
            async with self._sessions() as session, session.begin():
                # Chosen and deleted in one transaction, with the user rows locked (PostgreSQL; SQLite's writers
                # take turns), so a user who writes in the meantime is either kept or forgotten whole. Rows
                # another replica is deleting are skipped, not waited for.
                chosen = await session.scalars(
                    select(users.c.user_id)
                    .where(users.c.last_seen_at < seen_before)
                    .order_by(users.c.user_id)
                    .limit(FORGET_BATCH)
                    .with_for_update(skip_locked=True)
                )
                batch = list(chosen.all())
                if batch:
                    await delete_rows_about(session, batch)
            if not batch:
                return tuple(forgotten)
            forgotten.extend(batch)

    async def _prune_broadcasts(self, cutoff: dt.datetime) -> dict[str, int]:
        deliveries, sending = broadcast_deliveries, broadcasts.c.status == "sending"
        # A delivery still queued for a broadcast going out is kept: deleting it would skip that recipient.
        ended = select(broadcasts.c.id).where(~sending)
        gone = await self._delete(
            delete(deliveries).where(
                deliveries.c.updated_at < cutoff,
                or_(deliveries.c.status.in_(("sent", "failed")), deliveries.c.broadcast_id.in_(ended)),
            )
        )
        undelivered = ~select(deliveries.c.broadcast_id).where(deliveries.c.broadcast_id == broadcasts.c.id).exists()
        ended_long_ago = delete(broadcasts).where(~sending, broadcasts.c.updated_at < cutoff, undelivered)
        return {"broadcast_deliveries": gone, "broadcasts": await self._delete(ended_long_ago)}

    async def _delete(self, statement: Delete) -> int:
        async with self._sessions() as session, session.begin():
            result = await session.execute(statement)
            return int(getattr(result, "rowcount", 0) or 0)
