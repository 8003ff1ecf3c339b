"""Webhook updates already taken in: Telegram may deliver one twice, or to two replicas; it runs once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from bot.store.base import Repository, insert
from bot.store.tables import processed_updates, utcnow

# Telegram redelivers an update for a while after a failed webhook call, and after a week without
# updates it may start numbering anew; two days covers the first and keeps the second from colliding.
KEEP_FOR = dt.timedelta(days=2)
PRUNE_EVERY = 500


class ProcessedUpdateRepository(Repository):
    _taken = 0

    async def first_time(self, update_id: int, now: dt.datetime | None = None) -> bool:
        """Record the update; True only for the first caller, whichever process asks."""
        now = now or utcnow()
        async with self._sessions() as session, session.begin():
            statement = (
                insert(self._dialect, processed_updates)
                .values(update_id=update_id, received_at=now)
                .on_conflict_do_nothing(index_elements=["update_id"])
                .returning(processed_updates.c.update_id)
            )
            first = (await session.execute(statement)).scalar_one_or_none() is not None
        self._taken += 1
        if self._taken % PRUNE_EVERY == 0:
            await self.prune(now)
        return first

    async def prune(self, now: dt.datetime | None = None) -> int:
        cutoff = (now or utcnow()) - KEEP_FOR
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(processed_updates).where(processed_updates.c.received_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)
