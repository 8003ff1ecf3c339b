"""Webhook mode and /healthz: the secret token is required, a repeated update runs once, readiness is reported.

Updates are posted over real HTTP to the bot's own server, as Telegram would; the bot's replies go to
the local Bot API server.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram.ext import Application

from bot.advisor import Advisor
from bot.config import Settings, load_settings
from bot.http_server import SECRET_HEADER
from bot.serving import start_webhook, stop_webhook
from bot.telegram_app import build_application, running
from tests.conftest import ROOT, TEST_TOKEN
from tests.support.botapi import FakeBotApi
from tests.support.botproc import bot_env, plain
from tests.test_guard_e2e import quiet_for


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
        await start_webhook(app, settings)
        yield settings
    finally:
        await stop_webhook(app)


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
        assert await quiet_for(bot_api, 9601, 1.0) == 0  # nothing refused was handled

        assert await post(session, url, question, secret) == 200
        [answer] = await bot_api.wait_for_messages(1, chat_id=9601)
        assert "Sources" in plain(answer)
        assert await post(session, url, question, secret) == 200  # Telegram delivering it again
        assert await quiet_for(bot_api, 9601, 2.0) == 1

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
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
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
