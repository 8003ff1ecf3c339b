"""The composition root for Telegram: wires services into a python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
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

from bot.advisor import Advisor
from bot.config import Settings
from bot.dialog.admin import AdminDesk
from bot.dialog.assistant import Assistant
from bot.dialog.callbacks import QUESTIONNAIRE_PATTERN
from bot.dialog.export import DataExport
from bot.guard import Access, SharedRateLimiter, SlowDownNotices
from bot.heap import freeze_long_lived, release_free_heap
from bot.nudges.schedule import Clock, system_clock
from bot.nudges.service import NudgeService
from bot.prompts import Texts
from bot.reindex import Reindexer
from bot.services import build_advisor, build_llm
from bot.store import Store, StoreUnavailable
from bot.store.handle import StoreHandle
from bot.store.retention import RetentionPolicy
from bot.telegram import handlers
from bot.telegram.bot import BatchedPollingBot
from bot.telegram.broadcasts import BroadcastSender
from bot.telegram.context import BotContext, BotServices
from bot.telegram.http_server import CachedCheck, HttpServer, Readiness, WebhookRoute
from bot.telegram.nudges import RETRY_BASE_SECONDS, NudgeScheduler
from bot.telegram.pace import PacedRateLimiter
from bot.telegram.requests import SEND_READ_TIMEOUT, polling_request, send_request

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 3.0
# Updates one user may have waiting behind the one being handled; more are dropped, and the user asked to slow down.
MAX_WAITING_PER_USER = 10
# PTB's semaphore in front of the update processor; it must never be what an update waits for (see PerChatOrder).
UPDATES_TAKEN_IN = 1_000_000

OnDropped = Callable[[Update, bool], Awaitable[None]]  # (the dropped update, whether it is the first of its burst)
# The clean-up of old data runs this long after a start (so frequent restarts do not skip it), then daily.
RETENTION_FIRST_RUN = dt.timedelta(minutes=10)

COMMANDS = [
    BotCommand("start", "set up your profile, or pick up where you left off"),
    BotCommand("plan", "your week-by-week learning plan (/plan new rebuilds it)"),
    BotCommand("roadmap", "your plan as a picture"),
    BotCommand("progress", "how far along you are, and the next step"),
    BotCommand("profile", "what I know about you, with buttons to change it"),
    BotCommand("compare", "two credentials side by side: /compare AZ-104 vs SAA"),
    BotCommand("nudges", "weekly check-ins: on, off, day and time, snooze"),
    BotCommand("export", "a file of everything I store about you"),
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

    async def database_answers() -> bool:
        try:
            store = await asyncio.wait_for(store_handle.get(), HEALTH_TIMEOUT_SECONDS)
            await asyncio.wait_for(store.ping(), HEALTH_TIMEOUT_SECONDS)
            return True
        except Exception as problem:
            logger.warning("health check: the database is unreachable (%s)", type(problem).__name__)
            return False

    # /healthz can be asked by anyone who reaches the port, as often as they like: not one round trip each
    database_check = CachedCheck(database_answers)

    async def readiness() -> Readiness:
        details: dict[str, object] = {"mode": "webhook" if settings.webhook_url else "polling"}
        advisor = services.advisor
        details["index"] = advisor.catalog.collection_name if advisor is not None else None
        details["database"] = "ok" if await database_check() else "unreachable"
        return Readiness(services.ready and details["database"] == "ok", details)

    async def first_time(update_id: int) -> bool:
        return await (await store_handle.get()).updates.first_time(update_id)

    webhook = None
    if settings.webhook_url is not None:
        webhook = WebhookRoute(settings.webhook_path, settings.webhook_secret_token, first_time)
    assert settings.http_port is not None
    return HttpServer(app, settings.http_host, settings.http_port, readiness, webhook)


def schedule_retention(
    app: Application, store: Store, settings: Settings, clock: Clock, forgotten: Callable[[int], None]
) -> None:
    """The daily clean-up; with several replicas each runs it, and a second run finds nothing left."""
    policy = RetentionPolicy(
        turns_days=settings.retention_turns_days,
        ledger_days=settings.retention_ledger_days,
        inactive_user_days=settings.retention_inactive_user_days,
        questionnaire_days=settings.retention_questionnaire_days,
    )

    async def prune(_: BotContext) -> None:
        try:
            pruned = await store.retention.prune(clock(), policy)
        except (StoreUnavailable, OSError) as problem:
            logger.warning("retention: could not prune the database (%s); trying again in a day", problem)
            return
        for user_id in pruned.forgotten_users:
            forgotten(user_id)
        logger.info("retention: %s", pruned.summary())

    assert app.job_queue is not None
    app.job_queue.run_repeating(prune, interval=dt.timedelta(days=1), first=RETENTION_FIRST_RUN, name="retention")


class PerChatOrder(BaseUpdateProcessor):
    """Process updates of different chats concurrently, each chat's in arrival order, one at a time per user.

    Whether an update runs, waits or is dropped is decided before it takes a worker. PTB's own semaphore
    (taken in `process_update`, before this class sees whose update it is) is made wide enough never to
    bind: waiting for a busy chat or user holds no worker, so one user's backlog never delays anyone else.
    The workers that run handlers are a semaphore of this class, taken once the update's turn has come.

    A user may have one update in hand and `max_waiting_per_user` waiting behind it; beyond that their
    updates are dropped at once, and `on_dropped` is told (with `first` set once per burst, so the user is
    asked to slow down once, and a dropped button press can still be answered). A burst ends when the user
    has nothing in hand or waiting.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        *,
        max_waiting_per_user: int = MAX_WAITING_PER_USER,
        on_dropped: OnDropped | None = None,
        notices: SlowDownNotices | None = None,
    ) -> None:
        super().__init__(UPDATES_TAKEN_IN)
        self.workers = max_concurrent_updates
        self.max_waiting_per_user = max_waiting_per_user
        self.notices = notices or SlowDownNotices()
        self._on_dropped = on_dropped
        self._worker_slots = asyncio.Semaphore(max_concurrent_updates)
        # key -> (lock, updates holding or waiting for it); a lock goes when its last update is done
        self._locks: dict[tuple[str, int], tuple[asyncio.Lock, int]] = {}
        self.handled = 0  # updates finished or dropped since start, so a waiter can tell the bot has caught up

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._process(update, coroutine)
        finally:
            self.handled += 1

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys: list[tuple[str, int]] = []
        if isinstance(update, Update):
            user = update.effective_user
            if user is not None and self._queued(("user", user.id)) > self.max_waiting_per_user:
                await self._drop(update, user.id, coroutine)
                return
            # Always the chat before the user: one order of taking locks cannot deadlock, and an update
            # waiting for its busy user already holds its place in the chat's queue.
            if update.effective_chat is not None:
                keys.append(("chat", update.effective_chat.id))
            if user is not None:
                keys.append(("user", user.id))
        locks = [self._enter(key) for key in keys]
        try:
            async with contextlib.AsyncExitStack() as held:
                for lock in locks:
                    await held.enter_async_context(lock)
                async with self._worker_slots:
                    await coroutine
        finally:
            for key in keys:
                self._leave(key)

    async def _drop(self, update: Update, user_id: int, coroutine: Awaitable[Any]) -> None:
        if isinstance(coroutine, Coroutine):
            coroutine.close()  # it will never run; closed, so that it is not reported as never awaited
        first = self.notices.first(user_id)
        if first:
            logger.info(
                "user %s has %d updates waiting; dropping more until they are handled",
                user_id,
                self.max_waiting_per_user,
            )
        if self._on_dropped is not None:
            try:
                await self._on_dropped(update, first)
            except Exception:  # the update is dropped either way; a failed notice must not reach PTB
                logger.warning("could not tell user %s that their update was dropped", user_id, exc_info=True)

    def _queued(self, key: tuple[str, int]) -> int:
        """Updates of the key in hand or waiting."""
        return self._locks[key][1] if key in self._locks else 0

    def _enter(self, key: tuple[str, int]) -> asyncio.Lock:
        lock, count = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, count + 1)
        if count == 0 and key[0] == "user":
            self.notices.burst_began(key[1])
        return lock

    def _leave(self, key: tuple[str, int]) -> None:
        lock, count = self._locks[key]
        if count <= 1:
            del self._locks[key]
            if key[0] == "user":
                self.notices.burst_ended(key[1])
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
    send_read_timeout: float = SEND_READ_TIMEOUT,
) -> Application:
    """Build the bot; the model, the index and the database open in post_init, not here.

    With WEBHOOK_URL set there is no updater: updates arrive through the bot's HTTP server.
    `clock` is the time the nudges go by; tests move it instead of waiting for real weeks. How long a
    send waits for Telegram's answer (`send_read_timeout`) is shortened by tests of lost answers.
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
        if store.engine.dialect.name == "postgresql":  # replicas need PostgreSQL: they share one sending pace
            pace.share(lambda: store.send_budget.take(pace.interval_seconds))
        services.limiter = SharedRateLimiter(store.message_rate, settings.user_messages_per_minute, slow_down)
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
        services.exports = DataExport(store, clock=clock)
        schedule_retention(app, store, settings, clock, scheduler.cancel)
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
        # everything start-up made and imported (the store, migrations, jobs) stays: out of later collections
        freeze_long_lived()
        services.ready = True
        logger.info("bot ready")

    async def post_shutdown(app: Application) -> None:
        services: BotServices = app.bot_data
        if services.broadcasts is not None:
            await services.broadcasts.stop()
        if services.http is not None:
            await services.http.stop()
        await store_handle.close()

    pace = PacedRateLimiter()
    slow_down = SlowDownNotices()  # the waiting cap and the per-minute limit ask a user to slow down once a burst

    async def dropped(update: Update, first: bool) -> None:
        await handlers.dropped(update, app.bot_data, first)

    context_types = ContextTypes(context=BotContext, bot_data=BotServices)
    builder = ApplicationBuilder()
    if settings.webhook_url is not None:
        builder = builder.updater(None)
    bot = BatchedPollingBot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.bot_api_base_url,
        base_file_url=settings.bot_api_file_url,
        request=send_request(send_read_timeout),
        get_updates_request=polling_request(),
        # Telegram's limits: about 30 messages a second overall; a RetryAfter is waited out and retried.
        rate_limiter=pace,
    )
    app = (
        builder.bot(bot)
        .context_types(context_types)
        .concurrent_updates(PerChatOrder(on_dropped=dropped, notices=slow_down))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    services: BotServices = app.bot_data
    services.settings = settings
    # group -1 runs first for every update: access, flood and group checks before any handler
    app.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("cancel", handlers.cancel))
    app.add_handler(CallbackQueryHandler(handlers.questionnaire_button, pattern=QUESTIONNAIRE_PATTERN))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(CommandHandler("profile", handlers.profile))
    app.add_handler(CommandHandler("plan", handlers.plan))
    app.add_handler(CommandHandler("progress", handlers.progress))
    app.add_handler(CommandHandler("compare", handlers.compare))
    app.add_handler(CommandHandler("export", handlers.export))
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
