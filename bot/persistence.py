"""python-telegram-bot persistence backed by the user store: only ConversationHandler states.

Profiles, plans and progress are written by the services themselves as they change; what the
Application would keep in memory (bot, chat and user data) is not needed across restarts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.store import Store

# Conversation states are also written through by the handlers at every step; this interval only
# bounds how long the Application's own bookkeeping may lag behind.
UPDATE_INTERVAL_SECONDS = 5.0


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


class StorePersistence(BasePersistence[Any, Any, Any]):
    def __init__(self, handle: StoreHandle) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=False, callback_data=False),
            update_interval=UPDATE_INTERVAL_SECONDS,
        )
        self.handle = handle

    async def get_conversations(self, name: str) -> ConversationDict:
        store = await self.handle.get()
        return dict(await store.conversations.load(name))

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        store = await self.handle.get()
        await store.conversations.save(name, tuple(key), new_state)

    # Nothing else is persisted here (see the module docstring).
    async def get_user_data(self) -> dict[int, Any]:
        return {}

    async def get_chat_data(self) -> dict[int, Any]:
        return {}

    async def get_bot_data(self) -> Any:
        return None

    async def get_callback_data(self) -> None:
        return None

    async def update_user_data(self, user_id: int, data: Any) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: Any) -> None:
        return None

    async def update_bot_data(self, data: Any) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: Any) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Any) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Any) -> None:
        return None

    async def flush(self) -> None:
        return None
