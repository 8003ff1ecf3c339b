"""Admin broadcasts: a draft, the admin's confirmation, then one delivery row per recipient.

A delivery is claimed (queued -> sending) before its message goes out and marked sent or failed after,
so a restart resumes with the queued rows and never sends a claimed one again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, literal, select, update

from bot.store.base import Repository
from bot.store.tables import broadcast_deliveries, broadcasts, users, utcnow

MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Broadcast:
    id: int
    text: str
    status: str
    created_by: int | None


@dataclass(frozen=True)
class Recipient:
    user_id: int
    chat_id: int


class BroadcastRepository(Repository):
    async def draft(self, admin_id: int, text: str) -> int:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            statement = (
                insert(broadcasts)
                .values(text=text, created_by=admin_id, status="draft", created_at=now, updated_at=now)
                .returning(broadcasts.c.id)
            )
            return int((await session.execute(statement)).scalar_one())

    async def get(self, broadcast_id: int) -> Broadcast | None:
        async with self._sessions() as session, session.begin():
            row = (await session.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id))).one_or_none()
        return None if row is None else Broadcast(row.id, row.text, row.status, row.created_by)

    async def start(self, broadcast_id: int) -> int | None:
        """Turn the draft into deliveries to every known user; None if it is not a draft any more.

        The status change and the recipient list are one transaction, so two confirmations (a double
        tap, two replicas) start it once.
        """
        now = utcnow()
        async with self._sessions() as session, session.begin():
            started = await session.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
                .values(status="sending", updated_at=now)
                .returning(broadcasts.c.id)
            )
            if started.scalar_one_or_none() is None:
                return None
            # everyone with a private chat: a broadcast is never posted in a group
            everyone = (
                select(literal(broadcast_id), users.c.user_id, users.c.chat_id, literal("queued"), literal(now))
                .select_from(users)
                .where(users.c.chat_id.is_not(None))
            )
            await session.execute(
                insert(broadcast_deliveries).from_select(
                    ["broadcast_id", "user_id", "chat_id", "status", "updated_at"], everyone
                )
            )
            count = await session.scalar(
                select(func.count()).where(broadcast_deliveries.c.broadcast_id == broadcast_id)
            )
            return int(count or 0)

    async def cancel(self, broadcast_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
                .values(status="cancelled", updated_at=utcnow())
                .returning(broadcasts.c.id)
            )
            return result.scalar_one_or_none() is not None

    async def claim(self, broadcast_id: int, limit: int) -> list[Recipient]:
        """Take up to `limit` queued deliveries for sending; each row is taken by one caller only."""
        async with self._sessions() as session, session.begin():
            queued = (
                await session.execute(
                    select(broadcast_deliveries.c.user_id, broadcast_deliveries.c.chat_id)
                    .where(
                        broadcast_deliveries.c.broadcast_id == broadcast_id, broadcast_deliveries.c.status == "queued"
                    )
                    .order_by(broadcast_deliveries.c.user_id)
                    .limit(limit)
                    # two senders (replicas) take different rows instead of waiting on the same ones;
                    # SQLite has no row locks and needs none: its writers take turns
                    .with_for_update(skip_locked=True)
                )
            ).all()
            taken: list[Recipient] = []
            for user_id, chat_id in queued:
                claimed = await session.execute(
                    update(broadcast_deliveries)
                    .where(
                        broadcast_deliveries.c.broadcast_id == broadcast_id,
                        broadcast_deliveries.c.user_id == user_id,
                        broadcast_deliveries.c.status == "queued",
                    )
                    .values(status="sending", updated_at=utcnow())
                    .returning(broadcast_deliveries.c.user_id)
                )
                if claimed.scalar_one_or_none() is not None:
                    taken.append(Recipient(user_id, chat_id))
            return taken

    async def delivered(self, broadcast_id: int, user_id: int, error: str | None = None) -> None:
        status = "sent" if error is None else "failed"
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(broadcast_deliveries)
                .where(broadcast_deliveries.c.broadcast_id == broadcast_id, broadcast_deliveries.c.user_id == user_id)
                .values(status=status, error=None if error is None else error[:MAX_ERROR_CHARS], updated_at=utcnow())
            )

    async def finish(self, broadcast_id: int) -> bool:
        """Mark the broadcast done once nothing is queued; True when this call finished it."""
        async with self._sessions() as session, session.begin():
            queued = await session.scalar(
                select(func.count()).where(
                    broadcast_deliveries.c.broadcast_id == broadcast_id, broadcast_deliveries.c.status == "queued"
                )
            )
            if queued:
                return False
            result = await session.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "sending")
                .values(status="done", updated_at=utcnow())
                .returning(broadcasts.c.id)
            )
            return result.scalar_one_or_none() is not None

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Deliveries by status: queued, sending (in flight, or cut off by a crash), sent, failed."""
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(broadcast_deliveries.c.status, func.count())
                .where(broadcast_deliveries.c.broadcast_id == broadcast_id)
                .group_by(broadcast_deliveries.c.status)
            )
            found = {str(status): int(count) for status, count in rows.all()}
        return {status: found.get(status, 0) for status in ("queued", "sending", "sent", "failed")}

    async def unfinished(self) -> list[int]:
        """Broadcasts confirmed but not done: a restart resumes them."""
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(broadcasts.c.id).where(broadcasts.c.status == "sending").order_by(broadcasts.c.id)
            )
            return [int(row) for row in rows.scalars()]
