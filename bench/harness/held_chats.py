"""The local Bot API server, able to hold back its answers to messages sent into chosen chats.

A held chat stands for slow handling at the outside edge (a slow network, a language model that takes
its time): the bot's sendMessage into that chat is carried out and recorded at once, but the answer
waits until the test releases the chat, or for a fixed time per message. Other chats are answered
at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.harness.botapi import FakeBotApi


class HeldChatsBotApi(FakeBotApi):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._held: dict[int, asyncio.Event] = {}
        self._slow: dict[int, float] = {}

    def hold(self, chat_id: int) -> None:
        """Answer messages into the chat only once `release` is called."""
        self._held[chat_id] = asyncio.Event()

    def release(self, chat_id: int | None = None) -> None:
        """Answer what is held for the chat (or for every chat), and stop holding it."""
        for held in [chat_id] if chat_id is not None else list(self._held):
            event = self._held.pop(held, None)
            if event is not None:
                event.set()

    def slow_down(self, chat_id: int, seconds: float) -> None:
        """Answer each message into the chat `seconds` after it was sent."""
        self._slow[chat_id] = seconds

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await super()._api_sendMessage(params)
        chat_id = int(params["chat_id"])
        held = self._held.get(chat_id)
        if held is not None:
            await held.wait()
        elif chat_id in self._slow:
            await asyncio.sleep(self._slow[chat_id])
        return result
