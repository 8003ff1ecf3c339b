"""Deciding and recording nudges: which are due, claiming each one in the ledger, and their outcome.

Nothing here sends a message; the Telegram layer does that and reports back, so the rules of
"exactly once" live in one place whatever front end delivers.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.advisor.catalog import Catalog
from bot.nudges.content import Nudge, compose_nudge
from bot.nudges.schedule import LATE_LIMIT, Clock, iso_week, latest_due, next_due, system_clock
from bot.prompts import Texts
from bot.store import Store
from bot.store.nudges import NudgeSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    user_id: int
    chat_id: int
    due_at: dt.datetime
    week: str


@dataclass(frozen=True)
class Claimed:
    due: Due
    nudge: Nudge


@dataclass(frozen=True)
class Startup:
    """What a bot process finds when it starts: nudges to send now, missed ones, and when each user is next due."""

    send_now: list[Due]
    missed: list[Due]
    upcoming: list[Due]


class NudgeService:
    def __init__(
        self,
        store: Store,
        texts: Texts,
        catalog: Callable[[], Catalog],
        clock: Clock = system_clock,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.texts = texts
        self.catalog = catalog  # the advisor's live catalog, which follows a re-ingest
        self.clock = clock
        # names this process in the ledger, so a stuck pending nudge can be traced to who claimed it
        self.owner = owner or f"bot-{uuid.uuid4().hex[:12]}"

    async def startup(self) -> Startup:
        """Catch up after downtime: late by under a day is sent, later is recorded as missed."""
        now = self.clock()
        result = Startup([], [], [])
        for user_id, chat_id, settings in await self.store.nudges.enabled():
            last = latest_due(settings, now)
            if last is not None:
                due = Due(user_id, chat_id, last, iso_week(last, settings))
                if await self.store.ledger.get(user_id, due.week) is None:
                    if now - last < LATE_LIMIT:
                        result.send_now.append(due)
                    elif await self.store.ledger.record_missed(user_id, due.week, last):
                        result.missed.append(due)
            result.upcoming.append(self._due(user_id, chat_id, settings, now))
        if result.missed:
            logger.info(
                "%d nudges were due over a day ago while the bot was down; recorded as missed", len(result.missed)
            )
        return result

    async def upcoming(self, user_id: int) -> Due | None:
        """The user's next nudge, or None when they have not opted in or have no private chat to send it to."""
        settings = await self.store.nudges.get(user_id)
        if settings is None or not settings.enabled:
            return None
        chat_id = await self.store.users.chat_of(user_id)
        if chat_id is None:  # seen only in groups: a nudge is private, so there is nowhere to send it
            return None
        return self._due(user_id, chat_id, settings, self.clock())

    def _due(self, user_id: int, chat_id: int, settings: NudgeSettings, now: dt.datetime) -> Due:
        due = next_due(settings, now)
        return Due(user_id, chat_id, due, iso_week(due, settings))

    async def claim(self, due: Due) -> Claimed | None:
        """Take the nudge for sending and write it; None when it is not this process's to send."""
        settings = await self.store.nudges.get(due.user_id)
        if settings is None or not settings.enabled:
            return None  # turned off (or forgotten) since it was scheduled
        if not await self.store.ledger.claim(due.user_id, due.week, due.due_at, self.owner):
            return None
        return await self._compose(due, settings)

    async def take_over_stale(self, lease: dt.timedelta) -> list[Claimed]:
        """Nudges another process claimed and then never tried to send (it died): now this one's."""
        taken: list[Claimed] = []
        for entry in await self.store.ledger.take_over_stale(self.owner, lease):
            settings = await self.store.nudges.get(entry.user_id)
            chat_id = await self.store.users.chat_of(entry.user_id)
            due = Due(entry.user_id, chat_id or entry.user_id, entry.due_at, entry.week)
            if settings is None or not settings.enabled or chat_id is None:
                await self.store.ledger.mark_failed(entry.user_id, entry.week, 0, "nudges turned off before sending")
                continue
            logger.info("took over an unsent nudge claimed by %s", entry.owner)
            taken.append(await self._compose(due, settings))
        return taken

    async def begin_send(self, claimed: Claimed) -> bool:
        return await self.store.ledger.begin_send(claimed.due.user_id, claimed.due.week, self.owner)

    async def _compose(self, due: Due, settings: NudgeSettings) -> Claimed:
        catalog = self.catalog()
        plan = await self.store.plans.active(due.user_id)
        progress = await self.store.progress.all(due.user_id)
        nudge = compose_nudge(self.texts, catalog, plan, progress, settings.last_tip_id, due.week)
        if nudge.tip_id is not None:
            await self.store.nudges.save(due.user_id, settings.model_copy(update={"last_tip_id": nudge.tip_id}))
        return Claimed(due, nudge)

    async def sent(self, claimed: Claimed, attempts: int) -> None:
        await self.store.ledger.mark_sent(claimed.due.user_id, claimed.due.week, attempts)

    async def retrying(self, claimed: Claimed, attempts: int, error: str) -> None:
        await self.store.ledger.note_attempt(claimed.due.user_id, claimed.due.week, attempts, error)

    async def failed(self, claimed: Claimed, attempts: int, error: str) -> None:
        await self.store.ledger.mark_failed(claimed.due.user_id, claimed.due.week, attempts, error)

    async def blocked(self, claimed: Claimed, attempts: int, error: str) -> None:
        """The user blocked the bot: record it and stop nudging them."""
        await self.failed(claimed, attempts, error)
        settings = await self.store.nudges.get(claimed.due.user_id)
        if settings is not None:
            await self.store.nudges.save(claimed.due.user_id, settings.model_copy(update={"enabled": False}))
        logger.info("a user blocked the bot; their nudges are off")
