"""The composition root for Telegram: wires services into a python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers
from bot.advisor import Advisor
from bot.config import Settings
from bot.context import BotContext, BotServices
from bot.dialog.admin import AdminDesk
from bot.dialog.assistant import Assistant
from bot.guard import Access, SharedRateLimiter
from bot.http_server import HttpServer, Readiness, WebhookRoute
from bot.memory import release_free_heap
from bot.nudges.schedule import Clock, system_clock
from bot.nudges.service import NudgeService
from bot.persistence import StoreHandle
from bot.prompts import Texts
from bot.reindex import Reindexer
from bot.services import build_advisor, build_llm
from bot.telegram_broadcasts import BroadcastSender
from bot.telegram_http import polling_request, send_request
from bot.telegram_nudges import RETRY_BASE_SECONDS, NudgeScheduler

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 3.0

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

# Shown only in the admins' own chats; to everyone else these commands do not exist.
ADMIN_COMMANDS = [
    BotCommand("stats", "users and this week's nudges"),
    BotCommand("reindex", "rebuild the index from the knowledge base"),
    BotCommand("broadcast", "a message to every user, after a preview"),
]


async def set_commands(app: Application, admin_ids: list[int]) -> None:
    await app.bot.set_my_commands(COMMANDS)
    for admin_id in admin_ids:
        try:
            await app.bot.set_my_commands(COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))
        except TelegramError as problem:  # the admin has not opened a chat with the bot yet
            logger.info("admin commands not shown to %s yet: %s", admin_id, problem)


def http_server(app: Application, settings: Settings, store_handle: StoreHandle) -> HttpServer:
    """/healthz, plus the webhook route in webhook mode."""
    services: BotServices = app.bot_data

    async def readiness() -> Readiness:
        details: dict[str, object] = {"mode": "webhook" if settings.webhook_url else "polling"}
        advisor = services.advisor
        details["index"] = advisor.catalog.collection_name if advisor is not None else None
        try:
            store = await asyncio.wait_for(store_handle.get(), HEALTH_TIMEOUT_SECONDS)
            await asyncio.wait_for(store.ping(), HEALTH_TIMEOUT_SECONDS)
            details["database"] = "ok"
        except Exception as problem:
            logger.warning("health check: the database is unreachable (%s)", type(problem).__name__)
            details["database"] = "unreachable"
        return Readiness(services.ready and details["database"] == "ok", details)

    async def first_time(update_id: int) -> bool:
        return await (await store_handle.get()).updates.first_time(update_id)

    webhook = None
    if settings.webhook_url is not None:
        webhook = WebhookRoute(settings.webhook_path, settings.webhook_secret_token, first_time)
    assert settings.http_port is not None
    return HttpServer(app, settings.http_host, settings.http_port, readiness, webhook)


class PerChatOrder(BaseUpdateProcessor):
    """Process updates of different chats concurrently, each chat's in arrival order, one at a time per user.

    One user therefore never holds more than one worker, however many messages or chats they use;
    the flood limit in the gate then answers the excess quickly.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        # key -> (lock, updates holding or waiting for it); a lock goes when its last update is done
        self._locks: dict[tuple[str, int], tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys: list[tuple[str, int]] = []
        if isinstance(update, Update):
            # Always the chat before the user: one order of taking locks cannot deadlock, and an update
            # waiting for its busy user already holds its place in the chat's queue.
            if update.effective_chat is not None:
                keys.append(("chat", update.effective_chat.id))
            if update.effective_user is not None:
                keys.append(("user", update.effective_user.id))
        locks = [self._enter(key) for key in keys]
        try:
            async with contextlib.AsyncExitStack() as held:
                for lock in locks:
                    await held.enter_async_context(lock)
                await coroutine
        finally:
            for key in keys:
                self._leave(key)

    def _enter(self, key: tuple[str, int]) -> asyncio.Lock:
        lock, count = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, count + 1)
        return lock

    def _leave(self, key: tuple[str, int]) -> None:
        lock, count = self._locks[key]
        if count <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, count - 1)

    @property
    def busy_keys(self) -> int:
        """Users and chats with an update in hand or waiting (for tests and benchmarks)."""
        return len(self._locks)

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

    With WEBHOOK_URL set there is no updater: updates arrive through the bot's HTTP server.
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
        if settings.http_port is not None:  # up first, so /healthz answers "not ready" while loading
            services.http = http_server(app, settings, store_handle)
            await services.http.start()
        services.access = Access(frozenset(settings.allowed_user_ids), frozenset(settings.admin_user_ids))
        services.texts = Texts.load(settings.prompts_dir)
        await asyncio.to_thread(services_advisor.load)
        release_free_heap()  # what loading the model and the index freed
        services.advisor = services_advisor
        store = await store_handle.get()
        services.limiter = SharedRateLimiter(store.message_rate, settings.user_messages_per_minute)
        nudges = NudgeService(store, services.texts, lambda: services_advisor.catalog, clock)
        scheduler = NudgeScheduler(
            app,
            nudges,
            retry_base_seconds=nudge_retry_base_seconds,
            claim_lease=dt.timedelta(seconds=settings.nudge_claim_lease_seconds),
        )
        services.scheduler = scheduler

        async def forgotten(user_id: int) -> None:
            scheduler.cancel(user_id)

        services.assistant = Assistant(
            store,
            services_advisor,
            services.texts,
            clock=clock,
            on_forget=forgotten,
            on_nudges_changed=scheduler.reschedule,
            llm=llm,
            llm_daily_requests=settings.llm_daily_requests_per_user,
        )
        services.broadcasts = BroadcastSender(app, store)
        services.admin = AdminDesk(
            store,
            services.texts,
            frozenset(settings.admin_user_ids),
            clock=clock,
            reindexer=Reindexer(settings, services_advisor),
            start_broadcast=services.broadcasts.start,
        )
        await scheduler.rebuild()
        await services.broadcasts.resume()
        await set_commands(app, settings.admin_user_ids)
        services.ready = True
        logger.info("bot ready")

    async def post_shutdown(app: Application) -> None:
        services: BotServices = app.bot_data
        if services.broadcasts is not None:
            await services.broadcasts.stop()
        if services.http is not None:
            await services.http.stop()
        await store_handle.close()

    context_types = ContextTypes(context=BotContext, bot_data=BotServices)
    builder = ApplicationBuilder()
    if settings.webhook_url is not None:
        builder = builder.updater(None)
    app = (
        builder.token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .request(send_request())
        .get_updates_request(polling_request())
        .context_types(context_types)
        .concurrent_updates(PerChatOrder())
        # Telegram's limits: about 30 messages a second overall; a RetryAfter is waited out and retried.
        # One message per 1/25 s rather than 25 per second: a bucket of 25 would let bursts reach 40+.
        .rate_limiter(AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 25, max_retries=3))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    # group -1 runs first for every update: access, flood and group checks before any handler
    app.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("cancel", handlers.cancel))
    app.add_handler(CallbackQueryHandler(handlers.questionnaire_button, pattern=r"^b:"))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(CommandHandler("profile", handlers.profile))
    app.add_handler(CommandHandler("plan", handlers.plan))
    app.add_handler(CommandHandler("progress", handlers.progress))
    app.add_handler(CommandHandler("compare", handlers.compare))
    app.add_handler(CommandHandler("forget", handlers.forget))
    app.add_handler(CommandHandler("nudges", handlers.nudges))
    app.add_handler(CommandHandler("roadmap", handlers.roadmap))
    app.add_handler(CommandHandler("stats", handlers.stats))
    app.add_handler(CommandHandler("reindex", handlers.reindex))
    app.add_handler(CommandHandler("broadcast", handlers.broadcast))
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text))
    app.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.unsupported))
    app.add_error_handler(handlers.error_handler)
    return app


@asynccontextmanager
async def running(app: Application, *, poll_timeout: int = 10) -> AsyncIterator[Application]:
    """Run the bot inside an event loop that someone else owns (tests, benchmarks).

    Does what `run_polling` does: initialize, post_init, start, poll; and the reverse on exit.
    Without an updater (webhook mode) updates come in through the bot's HTTP server instead.
    """
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        if app.updater is not None:
            await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
        try:
            yield app
        finally:
            if app.updater is not None:
                await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
