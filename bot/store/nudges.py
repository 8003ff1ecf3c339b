"""Each user's weekly-nudge settings, and who has opted in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from bot.store.base import Repository, ensure_user, upsert
from bot.store.tables import nudge_settings, users, utcnow


class NudgeSettings(BaseModel):
    """When to send a user's weekly learning nudge, in their own time zone."""

    enabled: bool = False
    weekday: int = Field(default=0, ge=0, le=6, description="Monday = 0")
    local_time: dt.time = dt.time(18, 0)
    timezone: str = "UTC"
    snoozed_until: dt.date | None = None
    last_tip_id: str | None = None
    enabled_at: dt.datetime | None = Field(default=None, description="when the user last opted in (UTC)")

    @field_validator("local_time")
    @classmethod
    def _whole_minutes(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("local_time is a wall-clock time; put the zone in timezone")
        return value.replace(second=0, microsecond=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class NudgeSettingsRepository(Repository):
    async def get(self, user_id: int) -> NudgeSettings | None:
        async with self._sessions() as session, session.begin():
            row = (
                (await session.execute(select(*_COLUMNS).where(nudge_settings.c.user_id == user_id))).mappings().first()
            )
            return None if row is None else _from_row(dict(row))

    async def save(self, user_id: int, settings: NudgeSettings) -> None:
        """Store the settings; ValueError when they are invalid (a `model_copy(update=...)` skips validation)."""
        settings = NudgeSettings.model_validate(settings.model_dump())
        async with self._sessions() as session, session.begin():
            await ensure_user(session, self._dialect, user_id)
            values = {"user_id": user_id, **_to_row(settings), "updated_at": utcnow()}
            await upsert(session, self._dialect, nudge_settings, values, key=["user_id"])

    async def enabled(self) -> list[tuple[int, int, NudgeSettings]]:
        """(user_id, chat_id, settings) of every user who opted in and has a private chat to nudge, by user id."""
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(users.c.user_id, users.c.chat_id, *_COLUMNS)
                .select_from(nudge_settings)
                .join(users, users.c.user_id == nudge_settings.c.user_id)
                .where(nudge_settings.c.enabled.is_(True), users.c.chat_id.is_not(None))
                .order_by(users.c.user_id)
            )
            result = []
            for row in rows.mappings():
                values = dict(row)
                result.append((values.pop("user_id"), values.pop("chat_id"), _from_row(values)))
            return result


NUDGE_COLUMNS = tuple(NudgeSettings.model_fields)
_COLUMNS = tuple(nudge_settings.c[name] for name in NUDGE_COLUMNS)


def _to_row(settings: NudgeSettings) -> dict[str, object]:
    values = settings.model_dump(mode="python")
    values["local_time"] = settings.local_time.strftime("%H:%M")
    return values


def _from_row(row: dict[str, object]) -> NudgeSettings:
    return NudgeSettings.model_validate(row)
