"""Starting and stopping the Application, the one way the process, the tests and the benchmarks all use.

The order is PTB's own (`run_polling` / `run_webhook`): initialize, post_init, start, then poll or
register the webhook; on the way out the reverse. It is written here once so that a process and a test
start the bot the same way, with failures the operator can fix named in one line.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.telegram.context import BotServices

# python-telegram-bot's words when a 401/404 answer was not JSON, i.e. not from a Bot API: "Not Found (404). Parsing ..."
_NOT_JSON = re.compile(r"^(?P<phrase>[^(]*) \((?P<code>\d{3})\)\. Parsing the server response")
# How long one getUpdates call waits for an update on the server (long polling).
POLL_TIMEOUT_SECONDS = 10


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


async def start_serving(app: Application, settings: Settings, *, poll_timeout: int = POLL_TIMEOUT_SECONDS) -> None:
    """Connect, load everything (post_init), start; then poll, or tell Telegram where to post updates."""
    await connect(app, settings)
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    if settings.webhook_url is None:
        assert app.updater is not None, "polling needs the Application's updater"

        def polling_failed(error: TelegramError) -> None:
            # as run_polling does: the error handlers see polling errors too (a Conflict stops the bot there)
            app.create_task(app.process_error(error=error, update=None))

        await app.updater.start_polling(
            poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES, error_callback=polling_failed
        )
        return
    # Every replica sets the same URL and secret; setting it again is harmless and keeps it current.
    try:
        await app.bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret_token, allowed_updates=Update.ALL_TYPES
        )
    except BadRequest as refused:  # e.g. "bad webhook: HTTPS url must be provided for webhook"
        raise StartupError(f"Telegram refused WEBHOOK_URL {settings.webhook_url}: {refused}") from None


async def stop_serving(app: Application) -> None:
    """Stop what `start_serving` started, as far as it got; a webhook stays registered for other replicas."""
    with contextlib.suppress(RuntimeError):  # start-up failed before the app was running
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
            if app.post_stop is not None:  # only after a stop, as in PTB's own run loop
                await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


@asynccontextmanager
async def running(app: Application, *, poll_timeout: int = POLL_TIMEOUT_SECONDS) -> AsyncIterator[Application]:
    """The bot running inside an event loop that someone else owns (tests, benchmarks)."""
    services: BotServices = app.bot_data
    assert services.settings is not None, "build the Application with build_application"
    try:
        await start_serving(app, services.settings, poll_timeout=poll_timeout)
        yield app
    finally:
        await stop_serving(app)
