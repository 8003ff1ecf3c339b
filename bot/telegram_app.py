"""The composition root for Telegram: wires services into a python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import handlers
from bot.advisor import Advisor
from bot.config import Settings
from bot.context import BotContext, BotServices
from bot.dialog import onboarding as ob
from bot.dialog.assistant import ONBOARDING, Assistant
from bot.guard import Access, RateLimiter
from bot.handlers import CONFLICT_MESSAGE
from bot.nudges.schedule import Clock, system_clock
from bot.nudges.service import NudgeService
from bot.persistence import StoreHandle, StorePersistence
from bot.prompts import Texts
from bot.services import build_advisor, build_llm
from bot.telegram_nudges import RETRY_BASE_SECONDS, NudgeScheduler

logger = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "set up your profile, or pick up where you left off"),
    BotCommand("plan", "your week-by-week learning plan (/plan new rebuilds it)"),
    BotCommand("roadmap", "your plan as a picture"),
    BotCommand("progress", "how far along you are, and the next step"),
    BotCommand("profile", "what I know about you, with buttons to change it"),
    BotCommand("compare", "two credentials side by side: /compare AZ-104 vs SAA"),
    BotCommand("nudges", "weekly check-ins: on, off, day and time, snooze"),
    BotCommand("forget", "delete everything I store about you"),
    BotCommand("cancel", "stop the current questionnaire"),
    BotCommand("help", "commands and example questions"),
]


def onboarding_conversation() -> ConversationHandler[BotContext]:
    """The questionnaire: one state per question, each answered by a button or by typing."""
    text = MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.step_text)
    states: dict[object, list[BaseHandler[Update, BotContext, object]]] = {}
    for mode in (ob.ASK, ob.EDIT):
        for step in ob.Step:
            state = ob.state_of(mode, step)
            states[state] = [CallbackQueryHandler(handlers.step_button, pattern=f"^b:{re.escape(state)}:"), text]
    # Buttons and typed answers share one conversation per user, so per_message stays off; PTB
    # warns that callback queries are then tracked per user rather than per message, which is the intent.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("start", handlers.start),
                CallbackQueryHandler(handlers.edit_button, pattern=r"^b:edit:[a-z]+$"),
            ],
            states=states,
            fallbacks=[
                CommandHandler("cancel", handlers.cancel),
                CommandHandler("forget", handlers.forget_during_onboarding),
            ],
            name=ONBOARDING,
            persistent=True,
            allow_reentry=True,
        )


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


def build_application(
    settings: Settings,
    advisor: Advisor | None = None,
    *,
    clock: Clock = system_clock,
    nudge_retry_base_seconds: float = RETRY_BASE_SECONDS,
) -> Application:
    """Build the bot; the model, the index and the database open in post_init, not here.

    `clock` is the time the nudges go by; tests move it instead of waiting for real weeks.
    """
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is required for the Telegram bot")
    services_advisor = advisor or build_advisor(settings)
    llm = build_llm(settings)  # a missing provider package or a broken prompt stops the bot here
    assert settings.database_url is not None
    store_handle = StoreHandle(settings.database_url)

    async def post_init(app: Application) -> None:
        services: BotServices = app.bot_data
        services.access = Access(frozenset(settings.allowed_user_ids), frozenset(settings.admin_user_ids))
        services.limiter = RateLimiter(per_minute=settings.user_messages_per_minute)
        services.texts = Texts.load()
        await asyncio.to_thread(services_advisor.load)
        services.advisor = services_advisor
        store = await store_handle.get()
        nudges = NudgeService(store, services.texts, lambda: services_advisor.catalog, clock)
        scheduler = NudgeScheduler(app, nudges, retry_base_seconds=nudge_retry_base_seconds)
        services.scheduler = scheduler

        async def forgotten(user_id: int) -> None:
            scheduler.cancel(user_id)

        services.assistant = Assistant(
            store,
            services_advisor,
            services.texts,
            clock=clock,
            admin_ids=frozenset(settings.admin_user_ids),
            on_forget=forgotten,
            on_nudges_changed=scheduler.reschedule,
            llm=llm,
            llm_daily_requests=settings.llm_daily_requests_per_user,
        )
        await scheduler.rebuild()
        await app.bot.set_my_commands(COMMANDS)
        logger.info("bot ready")

    async def post_shutdown(app: Application) -> None:
        await store_handle.close()

    context_types = ContextTypes(context=BotContext, bot_data=BotServices)
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .context_types(context_types)
        .concurrent_updates(PerChatOrder())
        .persistence(StorePersistence(store_handle))
        # Telegram's limits: about 30 messages a second overall; a RetryAfter is waited out and retried.
        # One message per 1/25 s rather than 25 per second: a bucket of 25 would let bursts reach 40+.
        .rate_limiter(AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 25, max_retries=3))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    # group -1 runs first for every update: access, flood and group checks before any handler
    app.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    app.add_handler(onboarding_conversation())
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(CommandHandler("profile", handlers.profile))
    app.add_handler(CommandHandler("plan", handlers.plan))
    app.add_handler(CommandHandler("progress", handlers.progress))
    app.add_handler(CommandHandler("compare", handlers.compare))
    app.add_handler(CommandHandler("forget", handlers.forget))
    app.add_handler(CommandHandler("nudges", handlers.nudges))
    app.add_handler(CommandHandler("roadmap", handlers.roadmap))
    app.add_handler(CommandHandler("stats", handlers.stats))
    app.add_handler(CommandHandler("cancel", handlers.cancel))
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.question))
    app.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
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
    services: BotServices = app.bot_data
    if services.conflict:
        print(f"error: {CONFLICT_MESSAGE}", file=sys.stderr)
        return 1
    return 0
