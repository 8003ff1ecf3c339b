"""Running the Telegram bot as a process: long polling by default, a webhook when WEBHOOK_URL is set.

Both run the Application until SIGINT/SIGTERM (or a polling conflict) and then shut it down in order,
so conversation state and the database are left consistent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.config import Settings
from bot.telegram.app import build_application
from bot.telegram.context import BotServices
from bot.telegram.handlers import CONFLICT_MESSAGE
from bot.telegram.lifecycle import start_serving, stop_serving

logger = logging.getLogger(__name__)


def run_bot(settings: Settings) -> int:
    """Serve until told to stop; 1 when another instance polls with the same token, else 0."""
    app = build_application(settings)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, loop.stop)
    try:
        loop.run_until_complete(start_serving(app, settings))
        if settings.webhook_url is None:
            logger.info("long polling against %s", settings.bot_api_base_url.rsplit("/", 1)[0])
        else:
            logger.info("webhook mode: Telegram posts updates to %s", settings.webhook_url)
        # run_forever, as PTB does, so that Application.stop_running() (on a polling conflict) ends it
        loop.run_forever()
    finally:
        loop.run_until_complete(stop_serving(app))
        loop.close()
    services: BotServices = app.bot_data
    if services.conflict:
        print(f"error: {CONFLICT_MESSAGE}", file=sys.stderr)
        return 1
    return 0
