"""Typed access to the services from handlers: `context.advisor`, not `bot_data["advisor"]`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from telegram.ext import Application, CallbackContext, ExtBot

from bot.advisor import Advisor, Turn
from bot.prompts import Texts

HISTORY_TURNS = 6


@dataclass
class BotServices:
    """What every handler may use; filled in by the composition root before polling starts."""

    advisor: Advisor | None = None
    texts: Texts | None = None


@dataclass
class ChatState:
    turns: deque[Turn] = field(default_factory=lambda: deque(maxlen=HISTORY_TURNS))


class BotContext(CallbackContext[ExtBot[None], dict[object, object], ChatState, BotServices]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def advisor(self) -> Advisor:
        advisor = self.bot_data.advisor
        if advisor is None:
            raise RuntimeError("the advisor is not ready yet")
        return advisor

    @property
    def texts(self) -> Texts:
        texts = self.bot_data.texts
        if texts is None:
            raise RuntimeError("texts are not loaded yet")
        return texts

    @property
    def chat_state(self) -> ChatState:
        state = self.chat_data
        if state is None:  # updates without a chat (inline queries) have no chat state
            return ChatState()
        return state
