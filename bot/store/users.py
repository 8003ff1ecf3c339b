"""Who has talked to the bot, and forgetting them."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from bot.store.base import Repository, ensure_user
from bot.store.tables import broadcasts, learning_plans, metadata, plan_steps, processed_updates, users, utcnow


class UserRepository(Repository):
    async def touch(self, user_id: int, chat_id: int) -> bool:
        """Record that the user wrote from `chat_id` just now; True when the user is new."""
        async with self._sessions() as session, session.begin():
            if await ensure_user(session, self._dialect, user_id, chat_id):
                return True
            await session.execute(
                update(users).where(users.c.user_id == user_id).values(chat_id=chat_id, last_seen_at=utcnow())
            )
            return False

    async def exists(self, user_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            found = await session.scalar(select(users.c.user_id).where(users.c.user_id == user_id))
            return found is not None

    async def chat_of(self, user_id: int) -> int | None:
        """The chat the bot talks to the user in (their private chat), or None for an unknown user."""
        async with self._sessions() as session, session.begin():
            return await session.scalar(select(users.c.chat_id).where(users.c.user_id == user_id))

    async def count(self) -> int:
        async with self._sessions() as session, session.begin():
            return (await session.scalar(select(func.count()).select_from(users))) or 0

    async def forget(self, user_id: int) -> None:
        """Delete every row about the user, in every table, in one transaction."""
        async with self._sessions() as session, session.begin():
            # Children before parents; the explicit deletes do not rely on ON DELETE CASCADE being enforced.
            for table in reversed(metadata.sorted_tables):
                if "user_id" in table.c:
                    await session.execute(delete(table).where(table.c.user_id == user_id))
                elif table is plan_steps:
                    plans = select(learning_plans.c.id).where(learning_plans.c.user_id == user_id)
                    await session.execute(delete(plan_steps).where(plan_steps.c.plan_id.in_(plans)))
                elif table is broadcasts:  # the text went to everyone; only who wrote it is about the user
                    await session.execute(
                        update(broadcasts).where(broadcasts.c.created_by == user_id).values(created_by=None)
                    )
                elif table is processed_updates:  # update ids only: nothing about anyone
                    continue
                else:
                    raise AssertionError(f"forget does not know how {table.name} relates to a user")
