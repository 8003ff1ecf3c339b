"""Typed access to the services from handlers: `context.assistant`, not `bot_data["assistant"]`."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram.ext import Application, CallbackContext, ExtBot

from bot.advisor import Advisor
from bot.config import Settings
from bot.dialog.admin import AdminDesk
from bot.dialog.assistant import Assistant
from bot.dialog.export import DataExport
from bot.guard import Access, SharedRateLimiter
from bot.prompts import Texts
from bot.telegram.broadcasts import BroadcastSender
from bot.telegram.http_server import HttpServer
from bot.telegram.nudges import NudgeScheduler


@dataclass
class BotServices:
    """What every handler may use; filled in by the composition root before polling starts."""

    settings: Settings | None = None  # what the Application was built with
    advisor: Advisor | None = None
    assistant: Assistant | None = None
    admin: AdminDesk | None = None
    exports: DataExport | None = None
    broadcasts: BroadcastSender | None = None
    texts: Texts | None = None
    scheduler: NudgeScheduler | None = None
    access: Access = field(default_factory=lambda: Access(frozenset(), frozenset()))
    limiter: SharedRateLimiter | None = None  # needs the store, so it is set once the store is open
    conflict: bool = False  # another instance polls with the same token
    http: HttpServer | None = None
    ready: bool = False  # set when start-up finished: model, index, database and jobs


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
    def admin(self) -> AdminDesk:
        admin = self.bot_data.admin
        if admin is None:
            raise RuntimeError("the admin commands are not ready yet")
        return admin

    @property
    def exports(self) -> DataExport:
        exports = self.bot_data.exports
        if exports is None:
            raise RuntimeError("the data export is not ready yet")
        return exports

    @property
    def limiter(self) -> SharedRateLimiter:
        limiter = self.bot_data.limiter
        if limiter is None:
            raise RuntimeError("the rate limiter is not ready yet")
        return limiter

    @property
    def texts(self) -> Texts:
        texts = self.bot_data.texts
        if texts is None:
            raise RuntimeError("texts are not loaded yet")
        return texts
