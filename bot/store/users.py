"""Who has talked to the bot, and forgetting them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.base import Repository, ensure_user, private_chat
from bot.store.tables import (
    broadcasts,
    learning_plans,
    metadata,
    plan_steps,
    processed_updates,
    send_budget,
    users,
    utcnow,
)


class UserRepository(Repository):
    async def touch(self, user_id: int, chat_id: int) -> bool:
        """Record that the user wrote from `chat_id` just now; True when the user is new.

        Only a private chat becomes the user's chat; writing in a group leaves it as it was (see `ensure_user`).
        """
        async with self._sessions() as session, session.begin():
            if await ensure_user(session, self._dialect, user_id, chat_id):
                return True
            private = private_chat(user_id, chat_id)
            values = {"last_seen_at": utcnow()} | ({"chat_id": private} if private is not None else {})
            await session.execute(update(users).where(users.c.user_id == user_id).values(values))
            return False

    async def exists(self, user_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            found = await session.scalar(select(users.c.user_id).where(users.c.user_id == user_id))
            return found is not None

    async def chat_of(self, user_id: int) -> int | None:
        """The user's private chat, where the bot writes to them unasked; None for an unknown user or one without."""
        async with self._sessions() as session, session.begin():
            return await session.scalar(select(users.c.chat_id).where(users.c.user_id == user_id))

    async def count(self) -> int:
        async with self._sessions() as session, session.begin():
            return (await session.scalar(select(func.count()).select_from(users))) or 0

    async def forget(self, user_id: int) -> None:
        """Delete every row about the user, in every table, in one transaction."""
        async with self._sessions() as session, session.begin():
            await delete_rows_about(session, [user_id])


async def delete_rows_about(session: AsyncSession, user_ids: Sequence[int]) -> None:
    """Delete every row about these users, in every table, within the caller's transaction."""
    # Children before parents; the explicit deletes do not rely on ON DELETE CASCADE being enforced.
    for table in reversed(metadata.sorted_tables):
        if "user_id" in table.c:
            await session.execute(delete(table).where(table.c.user_id.in_(user_ids)))
        elif table is plan_steps:
            plans = select(learning_plans.c.id).where(learning_plans.c.user_id.in_(user_ids))
            await session.execute(delete(plan_steps).where(plan_steps.c.plan_id.in_(plans)))
        elif table is broadcasts:  # the text went to everyone; only who wrote it is about the user
            await session.execute(
                update(broadcasts).where(broadcasts.c.created_by.in_(user_ids)).values(created_by=None)
            )
        elif table in (processed_updates, send_budget):  # update ids and a sending pace: nothing about anyone
            continue
        else:
            raise AssertionError(f"forget does not know how {table.name} relates to a user")
