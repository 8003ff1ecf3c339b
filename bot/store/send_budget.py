"""One pace for all of the bot's sends to Telegram, shared by every replica through the database.

Telegram lets one bot send about 30 messages a second in all, whichever process sends them. Each process
already paces its own sends; with several replicas those paces add up. So just before a send, the sender takes
the shared slot in one row: when the row's `next_slot` has come, it moves on to now plus one interval and the
send goes at once; otherwise the sender learns how long to wait, waits, and tries again.

Why a slot is taken only when it has come, rather than reserved ahead (each sender booking the next free time
and sleeping until then): a process that wakes late for a booked time (a busy event loop, a pause of the
machine) would send together with the one booked after it, and such bunches break the very limit the budget
keeps. Taken at the moment of sending, the row records when messages actually left. A replica's own pace lets
one of its sends ask at a time, so each slot is asked for by at most one sender per replica.

Times are seconds since the epoch by the database's clock, read inside the statement: on PostgreSQL the
server's, the one clock replicas share; on SQLite the machine's (with millisecond precision), which every
process on one database file shares.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.sql.elements import ColumnElement

from bot.store.base import Repository, insert
from bot.store.tables import send_budget

BUDGET_ROW = 1
MIN_WAIT_SECONDS = 0.001
UNIX_EPOCH_JULIAN_DAY = 2440587.5
SECONDS_PER_DAY = 86400.0


class SendBudgetRepository(Repository):
    async def take(self, interval_seconds: float) -> float:
        """Take the sending slot if it has come (0.0: send now), else the seconds to wait before asking again."""
        async with self._sessions() as session, session.begin():
            now: ColumnElement[Any]
            if self._dialect == "postgresql":
                # A slot lost in a server crash only lets one send go a little early.
                await session.execute(text("SET LOCAL synchronous_commit = off"))
                now = func.extract("epoch", func.clock_timestamp())
            else:
                # read inside the statement, after the write lock is held: a time read before could be stale
                now = (func.julianday("now") - UNIX_EPOCH_JULIAN_DAY) * SECONDS_PER_DAY
            first = insert(self._dialect, send_budget).values(id=BUDGET_ROW, next_slot=now + interval_seconds)
            statement = first.on_conflict_do_update(
                index_elements=["id"],
                set_={"next_slot": now + interval_seconds},
                where=send_budget.c.next_slot <= now,
            ).returning(send_budget.c.id)
            if (await session.execute(statement)).first() is not None:
                return 0.0
            wait = await session.scalar(select(send_budget.c.next_slot - now).where(send_budget.c.id == BUDGET_ROW))
        # The slot may have come between the two statements; it is not taken until a `take` returns 0.0.
        return max(float(wait or 0.0), MIN_WAIT_SECONDS)
