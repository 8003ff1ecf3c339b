"""The bot's own HTTP server: `/healthz` in both modes, and the Telegram webhook in webhook mode.

PTB's built-in webhook server serves only the webhook, so the bot follows PTB's custom-webhook
pattern instead: updates are checked here (secret token, exactly once) and put on the Application's
update queue, where they are handled exactly as polled ones are.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Readiness:
    ready: bool
    details: dict[str, Any]


ReadinessCheck = Callable[[], Awaitable[Readiness]]
FirstTime = Callable[[int], Awaitable[bool]]  # records an update id; True the first time it is seen


@dataclass(frozen=True)
class WebhookRoute:
    path: str
    secret: str
    first_time: FirstTime


class HttpServer:
    def __init__(
        self,
        app: Application,
        host: str,
        port: int,
        readiness: ReadinessCheck,
        webhook: WebhookRoute | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.readiness = readiness
        self.webhook = webhook
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        server = web.Application(client_max_size=1 << 20)
        server.router.add_get("/healthz", self._health)
        if self.webhook is not None:
            server.router.add_post(self.webhook.path, self._update)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port (tests): report the one the system chose
            self.port = int(self._runner.addresses[0][1])
        logger.info(
            "http server on %s:%s (/healthz%s)",
            self.host,
            self.port,
            f", webhook {self.webhook.path}" if self.webhook else "",
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        try:
            readiness = await self.readiness()
        except Exception:
            logger.exception("the readiness check failed")
            readiness = Readiness(False, {"error": "readiness check failed"})
        body = {"status": "ready" if readiness.ready else "not ready", **readiness.details}
        return web.json_response(body, status=200 if readiness.ready else 503)

    async def _update(self, request: web.Request) -> web.Response:
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            logger.warning("refused a webhook request without the right secret token from %s", request.remote)
            return web.Response(status=403)
        try:
            data = await request.json()
            update_id = int(data["update_id"])
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
            return web.Response(status=400, text="not a Telegram update")
        try:
            first = await self.webhook.first_time(update_id)
        except Exception:  # the database is unreachable: Telegram will deliver the update again later
            logger.exception("could not record webhook update %s", update_id)
            return web.Response(status=503)
        if not first:
            logger.info("update %s was delivered again; it was handled the first time", update_id)
            return web.Response(status=200)
        update = Update.de_json(data, self.app.bot)
        await self.app.update_queue.put(update)
        return web.Response(status=200)
