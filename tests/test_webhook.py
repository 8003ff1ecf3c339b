"""Webhook mode and /healthz: the secret token is required, a repeated update runs once, readiness is reported.

Updates are posted over real HTTP to the bot's own server, as Telegram would; the bot's replies go to
the local Bot API server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from telegram.ext import Application

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import bot_env, plain, spawn_bot
from bot.advisor import Advisor
from bot.config import Settings, load_settings
from bot.telegram.app import build_application
from bot.telegram.http_server import SECRET_HEADER, CachedCheck, RefusalLog
from bot.telegram.lifecycle import running, start_serving, stop_serving
from tests.conftest import TEST_TOKEN


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def message_update(update_id: int, text: str, chat_id: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id + 50_000,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def webhook_settings(api: FakeBotApi, data_dir: Path, port: int) -> Settings:
    return load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=api.base_url,
        data_dir=data_dir,
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        http_port=port,
    )


@pytest.fixture
async def webhook_bot(bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path) -> AsyncIterator[Settings]:
    settings = webhook_settings(bot_api, tmp_path, free_port())
    app = build_application(settings, advisor=advisor)
    try:
        await start_serving(app, settings)
        yield settings
    finally:
        await stop_serving(app)


async def post(session: aiohttp.ClientSession, url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with session.post(url, data=body, headers=headers) as response:
        return response.status


async def test_webhook_requires_the_secret_and_runs_a_repeated_update_once(
    webhook_bot: Settings, bot_api: FakeBotApi
) -> None:
    settings = webhook_bot
    url, secret = settings.webhook_url or "", settings.webhook_secret_token
    [registered] = [c.params for c in bot_api.calls if c.method == "setWebhook"]
    assert registered["url"] == url and registered["secret_token"] == secret
    assert TEST_TOKEN.split(":")[1] not in secret  # derived from the token, not containing it

    question = json.dumps(message_update(500_001, "which cert for cloud?", chat_id=9601)).encode()
    async with aiohttp.ClientSession() as session:
        assert await post(session, url, question, None) == 403
        assert await post(session, url, question, "not-the-secret") == 403
        assert await post(session, url, b"{not json", secret) == 400
        assert await post(session, url, b'{"message": {}}', secret) == 400

        assert await post(session, url, question, secret) == 200
        [answer] = await bot_api.wait_for_messages(1, chat_id=9601)
        assert "Sources" in plain(answer)
        assert await post(session, url, question, secret) == 200  # Telegram delivering it again
        follow_up = json.dumps(message_update(500_002, "/help", chat_id=9601)).encode()
        assert await post(session, url, follow_up, secret) == 200
        # A chat's updates are handled in order: by the time the follow-up is answered, the refused posts
        # and the repeat would have been answered too, had they been handled at all.
        [first, after] = await bot_api.wait_for_messages(2, chat_id=9601)
        assert first == answer and "Sources" not in plain(after) and "/plan" in plain(after)
        assert len(bot_api.sent_messages(9601)) == 2

        async with session.get(f"http://127.0.0.1:{settings.http_port}/healthz") as response:
            health = await response.json()
            assert response.status == 200
    assert health["status"] == "ready" and health["mode"] == "webhook" and health["database"] == "ok"
    assert str(health["index"]).startswith("career-knowledge-")
    assert "getUpdates" not in bot_api.methods()  # webhook mode never polls


async def test_health_in_polling_mode(bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=bot_api.base_url,
        data_dir=tmp_path,
        http_port=port,
    )
    app: Application = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1), aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            health = await response.json()
            assert response.status == 200
        async with session.post(f"http://127.0.0.1:{port}/telegram/hook", data=b"{}") as response:
            assert response.status in (404, 405)  # no webhook route in polling mode
    assert health == {"status": "ready", "mode": "polling", "index": advisor.catalog.collection_name, "database": "ok"}
    with pytest.raises(aiohttp.ClientConnectionError):  # the server went away with the bot
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz"):
            pass


async def test_the_webhook_process_reports_readiness_answers_and_stops_on_sigterm(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = bot_env(bot_api, tmp_path, real_index)
    env.update(WEBHOOK_URL=f"http://127.0.0.1:{port}/hook", HTTP_PORT=str(port))
    process = await spawn_bot(env)
    statuses: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 180
            while not statuses or statuses[-1] != 200:
                assert time.monotonic() < deadline, f"never ready: {statuses[-5:]}"
                assert process.returncode is None, "the bot exited during start-up"
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        statuses.append(response.status)
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
            update = json.dumps(message_update(700_001, "/help", chat_id=9602)).encode()
            secret = next(c.params["secret_token"] for c in bot_api.calls if c.method == "setWebhook")
            assert await post(session, f"http://127.0.0.1:{port}/hook", update, str(secret)) == 200
            [help_text] = await bot_api.wait_for_messages(1, chat_id=9602)
            assert "/plan" in plain(help_text)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert 503 in statuses  # loading the model and the index: up, but not ready yet
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert TEST_TOKEN.split(":")[1] not in stderr.decode()
    assert str(secret) not in stderr.decode()


async def raw_post(url: str, head: list[bytes], body: bytes) -> int:
    """POST with header bytes exactly as given (an HTTP client would refuse to send some of them)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            b"POST "
            + parts.path.encode()
            + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + b"".join(line + b"\r\n" for line in head)
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def test_malformed_webhook_requests_get_4xx_and_a_few_quiet_log_lines(
    webhook_bot: Settings, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = webhook_bot
    url, secret = settings.webhook_url or "", settings.webhook_secret_token
    update = message_update(600_001, "which cert for cloud?", chat_id=9603)
    infinite = json.dumps(update).replace("600001", "Infinity").encode()
    json_head = [b"Content-Type: application/json"]
    with_secret = [*json_head, f"{SECRET_HEADER}: {secret}".encode()]

    statuses = [
        # a secret that is not even UTF-8
        await raw_post(
            url, [*json_head, SECRET_HEADER.encode() + b": \xff\xfe\x80secret"], json.dumps(update).encode()
        ),
        # an update id no integer can hold
        await raw_post(url, with_secret, infinite),
        # a charset no codec exists for
        await raw_post(url, [b"Content-Type: application/json; charset=x-no-such-charset", *with_secret[1:]], b"{}"),
        # an update id that is not a whole number
        await raw_post(url, with_secret, json.dumps({**update, "update_id": 1.5}).encode()),
        await raw_post(url, with_secret, json.dumps({**update, "update_id": True}).encode()),
    ]
    async with aiohttp.ClientSession() as session:
        for _ in range(30):  # someone knocking without the secret, again and again
            statuses.append(await post(session, url, json.dumps(update).encode(), "guess"))
        # the bot is still serving: a real update after all that is answered
        assert await post(session, url, json.dumps(update).encode(), secret) == 200
    await bot_api.wait_for_messages(1, chat_id=9603)

    assert statuses[:5] == [403, 400, 400, 400, 400]
    assert set(statuses[5:]) == {403}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    refusals = [r for r in caplog.records if r.name == "bot.telegram.http_server" and r.levelno == logging.WARNING]
    assert 1 <= len(refusals) < 5, [r.getMessage() for r in refusals]  # not one line per request
    assert secret not in caplog.text


async def test_an_update_that_fails_to_parse_is_refused_and_can_still_arrive(
    webhook_bot: Settings, bot_api: FakeBotApi
) -> None:
    settings = webhook_bot
    url, secret = settings.webhook_url or "", settings.webhook_secret_token
    good = message_update(600_101, "/help", chat_id=9604)
    broken = {"update_id": 600_101, "message": {"text": "/help"}}  # no chat, no date: python-telegram-bot refuses it
    async with aiohttp.ClientSession() as session:
        assert await post(session, url, json.dumps(broken).encode(), secret) == 400
        # Telegram delivering the same update id again, this time whole: it was not marked as handled
        assert await post(session, url, json.dumps(good).encode(), secret) == 200
        [answer] = await bot_api.wait_for_messages(1, chat_id=9604)
    assert "/plan" in plain(answer)


def test_refusals_are_logged_once_a_period_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    now = [1000.0]
    log = RefusalLog(every_seconds=60.0, clock=lambda: now[0])
    log.refused("no secret token", "203.0.113.7")
    for _ in range(9):
        now[0] += 5
        log.refused("not a Telegram update", "203.0.113.8")
    now[0] += 20  # 65 s after the first line
    log.refused("no secret token", "203.0.113.9")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused a webhook request (no secret token) from 203.0.113.7; more within 60 s are counted, not logged",
        "refused 10 webhook requests in the last 65 s; the latest: no secret token, from 203.0.113.9",
    ]


async def test_health_asks_the_database_once_in_a_while_not_on_every_request(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    pings: list[str] = []

    def count_pings(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.strip().upper() == "SELECT 1":
            pings.append(statement)

    port = free_port()
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=bot_api.base_url,
        data_dir=tmp_path,
        http_port=port,
    )
    app = build_application(settings, advisor=advisor)
    event.listen(Engine, "before_cursor_execute", count_pings)
    try:
        async with running(app, poll_timeout=1), aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(20):  # a monitor, or anyone who found the port, asking again and again
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    statuses.append(response.status)
                    assert (await response.json())["database"] == "ok"
    finally:
        event.remove(Engine, "before_cursor_execute", count_pings)
    assert statuses == [200] * 20
    assert 1 <= len(pings) <= 3, f"{len(pings)} database round trips for 20 health checks"


async def test_a_cached_check_is_asked_again_only_after_its_period() -> None:
    now = [0.0]
    answers = [True, False]
    asked: list[float] = []

    async def check() -> bool:
        asked.append(now[0])
        return answers[len(asked) - 1]

    cached = CachedCheck(check, seconds=5.0, clock=lambda: now[0])
    assert await asyncio.gather(cached(), cached(), cached()) == [True, True, True]  # at once: asked once
    now[0] = 4.9
    assert await cached() is True
    now[0] = 5.0
    assert await cached() is False  # a new answer once the period is over, and it is kept in turn
    now[0] = 9.0
    assert await cached() is False
    assert asked == [0.0, 5.0]
