"""Typed access to the services from handlers: `context.assistant`, not `bot_data["assistant"]`."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram.ext import Application, CallbackContext, ExtBot

from bot.advisor import Advisor
from bot.dialog.assistant import Assistant
from bot.guard import Access, RateLimiter
from bot.prompts import Texts
from bot.telegram_nudges import NudgeScheduler


@dataclass
class BotServices:
    """What every handler may use; filled in by the composition root before polling starts."""

    advisor: Advisor | None = None
    assistant: Assistant | None = None
    texts: Texts | None = None
    scheduler: NudgeScheduler | None = None
    access: Access = field(default_factory=lambda: Access(frozenset(), frozenset()))
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(per_minute=20))
    conflict: bool = False  # another instance polls with the same token


class BotContext(CallbackContext[ExtBot[None], dict[object, object], dict[object, object], BotServices]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def advisor(self) -> Advisor:
        advisor = self.bot_data.advisor
        if advisor is None:
            raise RuntimeError("the advisor is not ready yet")
        return advisor

    @property
    def assistant(self) -> Assistant:
        assistant = self.bot_data.assistant
        if assistant is None:
            raise RuntimeError("the assistant is not ready yet")
        return assistant

    @property
    def texts(self) -> Texts:
        texts = self.bot_data.texts
        if texts is None:
            raise RuntimeError("texts are not loaded yet")
        return texts
