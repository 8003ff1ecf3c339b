"""The one store a bot process shares between its parts, opened on first use.

The bot keeps nothing in python-telegram-bot's memory that must outlive an update: profiles, plans,
progress and where a user is in the questionnaire are read from and written to the store as they
change, so a restart or another replica carries on from the database alone.
"""

from __future__ import annotations

import asyncio

from bot.store import Store


class StoreHandle:
    """Opens the store once, on first use, whichever part of the bot needs it first."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._store: Store | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Store:
        async with self._lock:
            if self._store is None:
                self._store = await Store.open(self.database_url)
            return self._store

    async def close(self) -> None:
        async with self._lock:
            if self._store is not None:
                await self._store.close()
                self._store = None
