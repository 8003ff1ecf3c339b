"""The profile each user builds during onboarding and later edits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.advisor.models import Profile
from bot.planner.models import StepStatus
from bot.store.base import Repository, ensure_user, upsert
from bot.store.tables import profiles, progress, utcnow

# Profile fields kept in the profiles table; `completed` lives in the progress table.
PROFILE_COLUMNS = (
    "current_role",
    "target_role",
    "target_domain",
    "level",
    "hours_per_week",
    "budget_usd",
    "preferred_providers",
    "experience_years",
)


class ProfileRepository(Repository):
    async def get(self, user_id: int) -> Profile | None:
        """The stored profile, its `completed` read from progress; None before the first save."""
        async with self._sessions() as session, session.begin():
            return await _load(session, user_id)

    async def save(self, user_id: int, profile: Profile) -> None:
        """Store the profile; ids in `completed` become completed progress (other progress is left alone)."""
        async with self._sessions() as session, session.begin():
            await _store(session, self._dialect, user_id, profile)

    async def update(self, user_id: int, **changes: object) -> Profile:
        """Change some fields, validated through `Profile`; ValueError on unknown fields or bad values."""
        unknown = sorted(set(changes) - set(Profile.model_fields))
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(unknown)}")
        async with self._sessions() as session, session.begin():
            current = await _load(session, user_id) or Profile()
            # pydantic's ValidationError is a ValueError
            profile = Profile.model_validate({**current.model_dump(), **changes})
            await _store(session, self._dialect, user_id, profile)
            return profile

    async def mark_onboarded(self, user_id: int) -> None:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            exists = await session.scalar(select(profiles.c.user_id).where(profiles.c.user_id == user_id))
            if exists is None:
                await _store(session, self._dialect, user_id, Profile())
            await session.execute(
                profiles.update().where(profiles.c.user_id == user_id).values(onboarded_at=now, updated_at=now)
            )

    async def is_onboarded(self, user_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            onboarded_at = await session.scalar(select(profiles.c.onboarded_at).where(profiles.c.user_id == user_id))
            return onboarded_at is not None


async def _load(session: AsyncSession, user_id: int) -> Profile | None:
    columns = [profiles.c[name] for name in PROFILE_COLUMNS]
    row = (await session.execute(select(*columns).where(profiles.c.user_id == user_id))).mappings().first()
    if row is None:
        return None
    completed = await session.scalars(_completed(user_id).order_by(progress.c.credential_id))
    return Profile.model_validate({**row, "completed": list(completed)})


def _completed(user_id: int) -> Select[tuple[str]]:
    return select(progress.c.credential_id).where(
        progress.c.user_id == user_id, progress.c.status == StepStatus.COMPLETED.value
    )


async def _store(session: AsyncSession, dialect: str, user_id: int, profile: Profile) -> None:
    # Validated again: a `model_copy(update=...)` skips validation, and bad values must not reach the table.
    profile = Profile.model_validate(profile.model_dump())
    now = utcnow()
    await ensure_user(session, dialect, user_id)
    values: dict[str, Any] = profile.model_dump(mode="json", include=set(PROFILE_COLUMNS))
    await upsert(session, dialect, profiles, {"user_id": user_id, **values, "updated_at": now}, key=["user_id"])
    held = set(await session.scalars(_completed(user_id)))
    for credential_id in dict.fromkeys(profile.completed):
        if credential_id in held:
            continue  # keep the date it was first completed
        row = {"user_id": user_id, "credential_id": credential_id, "status": StepStatus.COMPLETED.value}
        await upsert(session, dialect, progress, {**row, "updated_at": now}, key=["user_id", "credential_id"])
