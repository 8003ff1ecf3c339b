"""How many messages each user sent this minute, counted in the database so every replica shares the limit.

Windows are fixed one-minute windows, each anchored at the first message a user sends after their previous
window ended (not at the clock's full minute). Why this rather than a sliding approximation over the current
and previous window:

- One statement decides: an upsert that starts a new window or adds one to the current one, and returns the
  new count. The database serialises it per user row, so concurrent messages on any number of replicas get
  distinct counts: exactly `limit` pass, and exactly one is the first refusal, which the bot answers with a
  request to slow down. A sliding estimate needs the previous window's count too, and a second write to
  mark the first refusal; the gate runs for every update, so it should stay one short transaction.
- A burst is judged from its own first message, as a user would expect: the first `limit` messages pass and
  the rest wait until a minute after the burst began. Windows on the clock's full minute would let a burst
  that happens to straddle a minute's turn through twice, at random.
- One row per user: the table holds only recently active users once idle rows are pruned. The row is not
  tied to a user row, so counting creates no user: strangers refused at the gate, and users who asked to be
  forgotten, are not turned back into users (who would count in /stats and receive broadcasts).

The price is the usual one of fixed windows: a user who times it may get up to twice `limit` through in the
seconds around the end of their window, never more. For a guard against floods that is enough.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, delete, text, update

from bot.store.base import SEEN_RESOLUTION, Repository, insert
from bot.store.errors import translated
from bot.store.tables import message_rate, users

# Rows of users idle for this many windows are deleted; two leave room for replicas whose clocks differ a little.
KEEP_WINDOWS = 2
PRUNE_EVERY = 500


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    first_refusal: bool = False  # the first message refused in this window: the one the user is told about


class MessageRateRepository(Repository):
    _taken = 0

    @translated
    async def take(self, user_id: int, now: dt.datetime, limit: int, window_seconds: float = 60) -> RateDecision:
        """Count one message from the user; allowed while the window holds at most `limit` of them.

        Refused messages are counted too (so the first refusal can be told apart), but they never extend
        the window: it ends `window_seconds` after its first message whatever happens in it.
        """
        window = dt.timedelta(seconds=window_seconds)
        async with self._sessions() as session, session.begin():
            if self._dialect == "postgresql":
                # This runs for every update, and a count lost in a server crash is harmless: the commit need
                # not wait for the disk. The log is written in order, so the next ordinary commit secures it too.
                await session.execute(text("SET LOCAL synchronous_commit = off"))
            # every update passes here, buttons included: what makes a user active for retention. Only an
            # existing user is marked: counting must not create one (a stranger, or someone who was forgotten).
            await session.execute(
                update(users)
                .where(users.c.user_id == user_id, users.c.last_seen_at < now - SEEN_RESOLUTION)
                .values(last_seen_at=now)
            )
            first_message = insert(self._dialect, message_rate).values(user_id=user_id, window_start=now, messages=1)
            # both expressions read the row as it was before this update
            ended = message_rate.c.window_start <= now - window
            window_start = case((ended, first_message.excluded.window_start), else_=message_rate.c.window_start)
            messages = case((ended, 1), else_=message_rate.c.messages + 1)
            statement = first_message.on_conflict_do_update(
                index_elements=["user_id"], set_={"window_start": window_start, "messages": messages}
            ).returning(message_rate.c.messages)
            counted: int = (await session.execute(statement)).scalar_one()
        self._taken += 1
        if self._taken % PRUNE_EVERY == 0:
            await self.prune(now - KEEP_WINDOWS * window)
        limit = max(limit, 0)
        return RateDecision(allowed=counted <= limit, first_refusal=counted == limit + 1)

    async def prune(self, started_before: dt.datetime) -> int:
        """Delete the windows that started before `started_before`; the number deleted."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(delete(message_rate).where(message_rate.c.window_start < started_before))
            return int(getattr(result, "rowcount", 0) or 0)
