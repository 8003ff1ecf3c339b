"""Users whose weekly nudge came due two minutes ago, written straight into a bot's database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.store import NudgeSettings, Store


def just_due() -> dt.datetime:
    """Two minutes ago, on the whole minute: due now, and well inside the late limit."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)


async def seed_due_nudges(database_url: str, user_ids: Iterable[int], *, stale_claims: Iterable[int] = ()) -> str:
    """Opt the users in with a nudge due at `just_due()`; `stale_claims` are claimed by a long-dead process.

    Returns the ISO week of the nudges.
    """
    due = just_due()
    settings = NudgeSettings(
        enabled=True,
        weekday=due.weekday(),
        local_time=due.time(),
        timezone="UTC",
        enabled_at=due - dt.timedelta(days=1),
    )
    year, number, _ = due.isocalendar()
    week = f"{year}-W{number:02d}"
    async with await Store.open(database_url) as store:
        for user_id in user_ids:
            await store.users.touch(user_id, user_id)
            await store.nudges.save(user_id, settings)
        for user_id in stale_claims:
            assert await store.ledger.claim(user_id, week, due, "bot-died-long-ago")
    return week
