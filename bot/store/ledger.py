"""The nudge ledger: one row per user and ISO week, so that no user gets two nudges for one week.

A process claims a week by inserting its row; the primary key lets only one claim succeed, whichever
process, restart or retry asks. A claimed nudge is sent, then marked sent; a send that failed is
marked failed, never sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from bot.store.base import Repository, ensure_user, insert
from bot.store.tables import nudge_ledger, utcnow

MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class LedgerEntry:
    user_id: int
    week: str
    status: str
    due_at: dt.datetime
    attempts: int
    owner: str | None
    error: str | None
    sent_at: dt.datetime | None


class NudgeLedgerRepository(Repository):
    async def claim(self, user_id: int, week: str, due_at: dt.datetime, owner: str) -> bool:
        """Take this week's nudge for sending; False when it was already claimed, sent, failed or missed."""
        return await self._insert(user_id, week, due_at, "pending", owner)

    async def record_missed(self, user_id: int, week: str, due_at: dt.datetime) -> bool:
        """The nudge was due too long ago to be worth sending; True when this is news."""
        return await self._insert(user_id, week, due_at, "missed", None)

    async def _insert(self, user_id: int, week: str, due_at: dt.datetime, status: str, owner: str | None) -> bool:
        async with self._sessions() as session, session.begin():
            await ensure_user(session, self._dialect, user_id)
            statement = (
                insert(self._dialect, nudge_ledger)
                .values(user_id=user_id, week=week, status=status, due_at=due_at, owner=owner, updated_at=utcnow())
                .on_conflict_do_nothing(index_elements=["user_id", "week"])
                .returning(nudge_ledger.c.user_id)
            )
            return (await session.execute(statement)).scalar_one_or_none() is not None

    async def begin_send(self, user_id: int, week: str, owner: str) -> bool:
        """Count a send attempt as it leaves; False when the claim is no longer this owner's to send.

        Once a nudge has an attempt counted it may have reached the user, so it is never taken over.
        """
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(nudge_ledger)
                .where(
                    nudge_ledger.c.user_id == user_id,
                    nudge_ledger.c.week == week,
                    nudge_ledger.c.status == "pending",
                    nudge_ledger.c.owner == owner,
                )
                .values(attempts=nudge_ledger.c.attempts + 1, updated_at=utcnow())
                .returning(nudge_ledger.c.attempts)
            )
            return result.scalar_one_or_none() is not None

    async def take_over_stale(self, owner: str, older_than: dt.timedelta) -> list[LedgerEntry]:
        """Claims whose process stopped before trying to send (no attempt counted, untouched for
        `older_than`): they become `owner`'s. Each is taken by one caller only."""
        cutoff = utcnow() - older_than
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                update(nudge_ledger)
                .where(
                    nudge_ledger.c.status == "pending",
                    nudge_ledger.c.attempts == 0,
                    nudge_ledger.c.updated_at < cutoff,
                )
                .values(owner=owner, updated_at=utcnow())
                .returning(*nudge_ledger.c)
            )
            return [LedgerEntry(**{k: r._mapping[k] for k in LedgerEntry.__dataclass_fields__}) for r in rows]

    async def mark_sent(self, user_id: int, week: str, attempts: int) -> None:
        now = utcnow()
        await self._set(user_id, week, status="sent", attempts=attempts, sent_at=now, error=None)

    async def mark_failed(self, user_id: int, week: str, attempts: int, error: str) -> None:
        await self._set(user_id, week, status="failed", attempts=attempts, error=error[:MAX_ERROR_CHARS])

    async def note_attempt(self, user_id: int, week: str, attempts: int, error: str) -> None:
        """A temporary failure; the nudge stays pending while its sender retries."""
        await self._set(user_id, week, attempts=attempts, error=error[:MAX_ERROR_CHARS])

    async def _set(self, user_id: int, week: str, **values: object) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(nudge_ledger)
                .where(nudge_ledger.c.user_id == user_id, nudge_ledger.c.week == week)
                .values(**values, updated_at=utcnow())
            )

    async def get(self, user_id: int, week: str) -> LedgerEntry | None:
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(nudge_ledger).where(nudge_ledger.c.user_id == user_id, nudge_ledger.c.week == week)
                )
            ).first()
            return (
                None if row is None else LedgerEntry(**{k: row._mapping[k] for k in LedgerEntry.__dataclass_fields__})
            )

    async def history(self, user_id: int) -> list[LedgerEntry]:
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(nudge_ledger).where(nudge_ledger.c.user_id == user_id).order_by(nudge_ledger.c.week)
            )
            return [LedgerEntry(**{k: r._mapping[k] for k in LedgerEntry.__dataclass_fields__}) for r in rows]

    async def week_counts(self, week: str) -> dict[str, int]:
        """How many nudges of the ISO week are pending, sent, failed and missed."""
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(nudge_ledger.c.status, func.count())
                .where(nudge_ledger.c.week == week)
                .group_by(nudge_ledger.c.status)
            )
            counts = {"pending": 0, "sent": 0, "failed": 0, "missed": 0}
            counts.update({status: count for status, count in rows})
            return counts
