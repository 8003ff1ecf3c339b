"""The bot object the Application talks to Telegram through: PTB's ExtBot, fetching updates in small batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram._utils.types import TimePeriod
from telegram.ext import ExtBot

# Turning a getUpdates answer into Update objects runs on the event loop in one go, about 0.2 ms an update
# on this project's machine: Telegram's default batch of 100 stalled every chat for 20 ms under a burst.
# Batches of 20 cost a round trip per 20 updates, while replies leave at 25 a second anyway.
UPDATES_PER_POLL = 20


class BatchedPollingBot(ExtBot[Any]):
    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 -- the Bot API's long-polling wait, as PTB names it
        allowed_updates: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        return await super().get_updates(
            offset=offset,
            limit=UPDATES_PER_POLL if limit is None else limit,
            timeout=timeout,
            allowed_updates=allowed_updates,
            **kwargs,
        )
