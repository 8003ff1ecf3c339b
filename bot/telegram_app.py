"""The composition root for Telegram: wires services into a python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import handlers
from bot.advisor import Advisor
from bot.config import Settings
from bot.context import BotContext, BotServices, ChatState
from bot.prompts import Texts
from bot.services import build_advisor

logger = logging.getLogger(__name__)

COMMANDS = [BotCommand("start", "welcome and what I can do"), BotCommand("help", "commands and example questions")]


class PerChatOrder(BaseUpdateProcessor):
    """Process updates of different chats concurrently, but each chat's in arrival order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        async with lock:
            await coroutine
        if not lock.locked() and self._locks.get(chat.id) is lock:
            del self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def build_application(settings: Settings, advisor: Advisor | None = None) -> Application:
    """Build the bot; heavy services load in post_init, not here."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is required for the Telegram bot")
    services_advisor = advisor or build_advisor(settings)

    async def post_init(app: Application) -> None:
        services: BotServices = app.bot_data
        services.texts = Texts.load()
        await asyncio.to_thread(services_advisor.load)
        services.advisor = services_advisor
        await app.bot.set_my_commands(COMMANDS)
        logger.info("bot ready")

    context_types = ContextTypes(context=BotContext, bot_data=BotServices, chat_data=ChatState)
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .context_types(context_types)
        .concurrent_updates(PerChatOrder())
        .post_init(post_init)
        .build()
    )
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.question))
    app.add_handler(MessageHandler(filters.COMMAND, handlers.help_command))
    app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.unsupported))
    app.add_error_handler(handlers.error_handler)
    return app


@asynccontextmanager
async def running(app: Application, *, poll_timeout: int = 10) -> AsyncIterator[Application]:
    """Run the bot inside an event loop that someone else owns (tests, benchmarks).

    Does what `run_polling` does: initialize, post_init, start, poll; and the reverse on exit.
    """
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()


def run_polling(settings: Settings) -> int:
    app = build_application(settings)
    logger.info("starting long polling against %s", settings.bot_api_base_url.rsplit("/", 1)[0])
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
