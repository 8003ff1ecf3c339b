"""Running the Telegram bot as a process: long polling by default, a webhook when WEBHOOK_URL is set.

Both run the Application until SIGINT/SIGTERM (or a polling conflict) and then shut it down in order,
so conversation state and the database are left consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.context import BotServices
from bot.handlers import CONFLICT_MESSAGE
from bot.telegram_app import build_application

logger = logging.getLogger(__name__)


def run_bot(settings: Settings) -> int:
    if settings.webhook_url is not None:
        return run_webhook(settings)
    return run_polling(settings)


def run_polling(settings: Settings) -> int:
    app = build_application(settings)
    logger.info("starting long polling against %s", settings.bot_api_base_url.rsplit("/", 1)[0])
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    services: BotServices = app.bot_data
    if services.conflict:
        print(f"error: {CONFLICT_MESSAGE}", file=sys.stderr)
        return 1
    return 0


def run_webhook(settings: Settings) -> int:
    """Like PTB's run_webhook, but with the bot's own HTTP server (webhook plus /healthz)."""
    app = build_application(settings)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, loop.stop)
    try:
        loop.run_until_complete(start_webhook(app, settings))
        # run_forever, as PTB does, so that Application.stop_running() works here too
        loop.run_forever()
    finally:
        loop.run_until_complete(stop_webhook(app))
        loop.close()
    return 0


async def start_webhook(app: Application, settings: Settings) -> None:
    """Initialize, load everything (post_init starts the HTTP server), start, then tell Telegram where to post."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert settings.webhook_url is not None
    # Every replica sets the same URL and secret; setting it again is harmless and keeps it current.
    await app.bot.set_webhook(
        settings.webhook_url, secret_token=settings.webhook_secret_token, allowed_updates=Update.ALL_TYPES
    )
    logger.info("webhook mode: Telegram posts updates to %s", settings.webhook_url)


async def stop_webhook(app: Application) -> None:
    # The webhook stays registered: another replica may still be serving it.
    with contextlib.suppress(RuntimeError):  # start-up failed before the app was running
        if app.running:
            await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
