"""The recent turns of each chat, so follow-up questions survive a restart."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from bot.advisor.models import Turn
from bot.store.base import Repository, ensure_user
from bot.store.tables import conversation_turns, utcnow


class TurnRepository(Repository):
    async def add(self, chat_id: int, user_id: int, turn: Turn, keep: int = 12) -> None:
        """Append a turn to the chat and drop all but the newest `keep` turns of that chat."""
        if keep < 1:
            raise ValueError("keep must be at least 1")
        table = conversation_turns
        async with self._sessions() as session, session.begin():
            await ensure_user(session, self._dialect, user_id, chat_id)
            await session.execute(
                insert(table).values(chat_id=chat_id, user_id=user_id, created_at=utcnow(), **_to_row(turn))
            )
            # The oldest turn still kept; ids grow with every insert, so everything below it is older.
            oldest_kept = await session.scalar(
                select(table.c.id)
                .where(table.c.chat_id == chat_id)
                .order_by(table.c.id.desc())
                .offset(keep - 1)
                .limit(1)
            )
            if oldest_kept is not None:
                await session.execute(delete(table).where(table.c.chat_id == chat_id, table.c.id < oldest_kept))

    async def recent(self, chat_id: int, limit: int = 6) -> list[Turn]:
        """The newest `limit` turns of the chat, oldest first."""
        if limit < 1:
            return []
        table = conversation_turns
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(table.c.question, table.c.intent, table.c.facets, table.c.recommendation_ids)
                .where(table.c.chat_id == chat_id)
                .order_by(table.c.id.desc())
                .limit(limit)
            )
            return [Turn.model_validate(dict(row)) for row in reversed(rows.mappings().all())]


def _to_row(turn: Turn) -> dict[str, object]:
    return turn.model_dump(mode="json", include={"question", "intent", "facets", "recommendation_ids"})
