"""Running the Telegram bot as a process: long polling by default, a webhook when WEBHOOK_URL is set.

Both run the Application until SIGINT/SIGTERM (or a polling conflict) and then shut it down in order,
so conversation state and the database are left consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.telegram.app import build_application
from bot.telegram.context import BotServices
from bot.telegram.handlers import CONFLICT_MESSAGE

logger = logging.getLogger(__name__)


# python-telegram-bot's words when a 401/404 answer was not JSON, i.e. not from a Bot API: "Not Found (404). Parsing ..."
_NOT_JSON = re.compile(r"^(?P<phrase>[^(]*) \((?P<code>\d{3})\)\. Parsing the server response")


class StartupError(Exception):
    """The bot cannot start for a reason the operator can fix; the message is one line that says which."""


def rejected_token_message(error: InvalidToken, settings: Settings) -> str:
    """What a 401/404 answer to getMe means, without the token (python-telegram-bot's own message quotes it)."""
    # the first answer's description ("Unauthorized", "Not Found") is on the exception this one was raised from
    answer = error.__cause__.message if isinstance(error.__cause__, TelegramError) else ""
    not_json = _NOT_JSON.match(answer)
    if not_json:
        # A web server, but no Bot API: its error page is left out, as it can echo the URL and so the token.
        status = f"HTTP {not_json['code']} {not_json['phrase']}"
        return f"{settings.bot_api_base_url} does not answer as a Telegram Bot API ({status}): check TELEGRAM_BASE_URL"
    if answer == "Unauthorized":
        return "Telegram rejected the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN"
    if answer == "Not Found":
        return (
            f"the Bot API answered 404 Not Found for this bot: check TELEGRAM_BASE_URL ({settings.bot_api_base_url})"
            " and TELEGRAM_BOT_TOKEN"
        )
    return "the Bot API refused the bot token: check TELEGRAM_BOT_TOKEN and TELEGRAM_BASE_URL"


async def connect(app: Application, settings: Settings) -> None:
    """Initialize the Application; its getMe is the first call to the Bot API, so its failures are named here."""
    try:
        await app.initialize()
    except InvalidToken as rejected:
        raise StartupError(rejected_token_message(rejected, settings)) from None
    except NetworkError as problem:  # timeouts included
        raise StartupError(f"cannot reach the Bot API at {settings.bot_api_base_url}: {problem}") from None


def run_bot(settings: Settings) -> int:
    if settings.webhook_url is not None:
        return run_webhook(settings)
    return run_polling(settings)


def run_polling(settings: Settings) -> int:
    app = build_application(settings)
    # Initialized here rather than by run_polling, whose retry loop logs a refused token with a traceback;
    # run_polling then finds the Application initialized and carries on in the same event loop.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(connect(app, settings))
    except BaseException:
        loop.close()
        raise
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
    await connect(app, settings)
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert settings.webhook_url is not None
    # Every replica sets the same URL and secret; setting it again is harmless and keeps it current.
    try:
        await app.bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret_token, allowed_updates=Update.ALL_TYPES
        )
    except BadRequest as refused:  # e.g. "bad webhook: HTTPS url must be provided for webhook"
        raise StartupError(f"Telegram refused WEBHOOK_URL {settings.webhook_url}: {refused}") from None
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
