"""The bot's own HTTP server: `/healthz` in both modes, and the Telegram webhook in webhook mode.

PTB's built-in webhook server serves only the webhook, so the bot follows PTB's custom-webhook
pattern instead: updates are checked here (secret token, exactly once) and put on the Application's
update queue, where they are handled exactly as polled ones are.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
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


# How long /healthz reuses its answer about the database.
DATABASE_CHECK_SECONDS = 5.0


class CachedCheck:
    """A check's answer, reused for `seconds`: /healthz asked in a loop costs one database round trip a period.

    Callers that arrive while the check runs wait for its answer instead of starting one of their own.
    """

    def __init__(
        self,
        check: Callable[[], Awaitable[bool]],
        seconds: float = DATABASE_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.check = check
        self.seconds = seconds
        self.clock = clock
        self._lock = asyncio.Lock()
        self._answer = False
        self._asked_at: float | None = None

    async def __call__(self) -> bool:
        async with self._lock:
            if self._asked_at is None or self.clock() - self._asked_at >= self.seconds:
                self._asked_at = self.clock()
                self._answer = await self.check()
            return self._answer


# Seconds between two warnings about refused webhook requests; the ones in between are counted.
REFUSALS_LOGGED_EVERY_SECONDS = 60.0


class RefusalLog:
    """Warn about refused webhook requests at most once a period, with how many there were.

    Anyone who finds the address can post to it; one log line per refused request would let them fill the
    disk and bury everything else.
    """

    def __init__(
        self, every_seconds: float = REFUSALS_LOGGED_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_seconds = every_seconds
        self.clock = clock
        self._since: float | None = None  # when the last warning was written
        self._count = 0  # refusals since then, the one that was logged included

    def refused(self, reason: str, remote: str | None) -> None:
        now = self.clock()
        self._count += 1
        if self._since is None:
            logger.warning(
                "refused a webhook request (%s) from %s; more within %.0f s are counted, not logged",
                reason,
                remote,
                self.every_seconds,
            )
        elif now - self._since >= self.every_seconds:
            logger.warning(
                "refused %d webhook requests in the last %.0f s; the latest: %s, from %s",
                self._count,
                now - self._since,
                reason,
                remote,
            )
        else:
            return
        self._since, self._count = now, 0


class NotAnUpdate(ValueError):
    """A request body that is not a Telegram update python-telegram-bot can read."""


def parse_update(body: bytes, charset: str | None) -> tuple[int, dict[str, Any]]:
    """The update id and the JSON object of a webhook body; NotAnUpdate for anything else."""
    # Telegram sends UTF-8 JSON, and says so or says nothing
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise NotAnUpdate(f"charset {charset}")

    def no_constants(name: str) -> object:  # NaN and Infinity are not JSON; Python's parser would take them
        raise NotAnUpdate(name)

    try:
        data = json.loads(body.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise NotAnUpdate(type(error).__name__) from None
    if not isinstance(data, dict):
        raise NotAnUpdate("not a JSON object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise NotAnUpdate("no update_id")
    return update_id, data


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
        self.refusals = RefusalLog()
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
        # The header is text decoded from whatever bytes were sent; "replace" keeps any of them from making the
        # comparison itself fail (the secret is plain ASCII, so a replaced character never matches).
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.webhook.secret.encode()):
            self.refusals.refused("no valid secret token", request.remote)
            return web.Response(status=403)
        try:
            update_id, data = parse_update(await request.read(), request.charset)
            # Parsed before the id is recorded: an update recorded but never queued would be lost for good,
            # as Telegram's next delivery of it would count as a repeat.
            update = Update.de_json(data, self.app.bot)
        except web.HTTPException:
            raise  # too large: aiohttp's own answer
        except Exception as problem:  # python-telegram-bot raises whatever its constructors raise
            self.refusals.refused(f"not a Telegram update: {type(problem).__name__}", request.remote)
            return web.Response(status=400, text="not a Telegram update")
        try:
            first = await self.webhook.first_time(update_id)
        except Exception:  # the database is unreachable: Telegram will deliver the update again later
            logger.exception("could not record webhook update %s", update_id)
            return web.Response(status=503)
        if not first:
            logger.info("update %s was delivered again; it was handled the first time", update_id)
            return web.Response(status=200)
        await self.app.update_queue.put(update)
        return web.Response(status=200)
