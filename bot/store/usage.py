"""How many language-model requests each user made today, so a daily cap can be kept."""

from __future__ import annotations

import datetime as dt

from bot.store.base import Repository, ensure_user, insert
from bot.store.tables import llm_usage


class LlmUsageRepository(Repository):
    async def take(self, user_id: int, day: dt.date, cap: int) -> bool:
        """Count one request if the user is under `cap` today; False (and nothing counted) at the cap."""
        if cap <= 0:
            return False
        async with self._sessions() as session, session.begin():
            await ensure_user(session, self._dialect, user_id)
            new_row = insert(self._dialect, llm_usage).values(user_id=user_id, day=day, requests=1)
            statement = new_row.on_conflict_do_update(
                index_elements=["user_id", "day"],
                set_={"requests": llm_usage.c.requests + 1},
                where=llm_usage.c.requests < cap,
            ).returning(llm_usage.c.requests)
            return (await session.execute(statement)).scalar_one_or_none() is not None
