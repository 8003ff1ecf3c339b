"""Where each user is with each credential; kept per credential so it outlives any one plan."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.planner.models import StepStatus
from bot.store.base import Repository, ensure_user, upsert
from bot.store.tables import progress, utcnow


class ProgressRepository(Repository):
    async def set(self, user_id: int, credential_id: str, status: StepStatus) -> None:
        status = StepStatus(status)
        async with self._sessions() as session, session.begin():
            await ensure_user(session, self._dialect, user_id)
            values = {
                "user_id": user_id,
                "credential_id": credential_id,
                "status": status.value,
                "updated_at": utcnow(),
            }
            await upsert(session, self._dialect, progress, values, key=["user_id", "credential_id"])

    async def all(self, user_id: int) -> dict[str, StepStatus]:
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(progress.c.credential_id, progress.c.status)
                .where(progress.c.user_id == user_id)
                .order_by(progress.c.credential_id)
            )
            return {credential_id: StepStatus(status) for credential_id, status in rows}

    async def clear(self, user_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(progress).where(progress.c.user_id == user_id))
