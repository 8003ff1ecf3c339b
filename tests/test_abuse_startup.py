"""A start that fails says why in one line, exits non-zero, and never prints the bot token or a traceback.

Each test runs the real `python -m bot` as a child process against the local Bot API server, which
refuses the token, is reached at the wrong address, or fails a call while the bot loads.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import START_WITHIN_SECONDS, bot_env, spawn_bot
from tests.conftest import TEST_TOKEN

# A well-formed token the local server does not know: what a revoked token looks like to the bot.
REVOKED_TOKEN = "987654321:AARevokedTokenNobodyKnows_0123456789xyz"
DATABASE_PASSWORD = "pw-quokka-5c1e"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def secret_forms(token: str) -> list[str]:
    """The token whole, its secret part alone, and the token as it reads inside a URL-encoded string."""
    return [token, token.split(":", 1)[1], quote(token, safe="")]


async def failed_start(env: dict[str, str]) -> tuple[int, str]:
    """Run `python -m bot` until it exits by itself; its exit code and everything it printed."""
    process = await spawn_bot(env)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), START_WITHIN_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stdout.decode(errors="replace") + stderr.decode(errors="replace")


def the_one_problem(output: str, secrets: list[str]) -> str:
    """The single line that reports the failure; asserts that nothing else does and that no secret shows."""
    for secret in secrets:
        assert secret not in output, f"{secret!r} was printed:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    problems = [
        line for line in output.splitlines() if line.startswith("error:") or " ERROR " in line or " CRITICAL " in line
    ]
    assert len(problems) == 1, output[-3000:]
    return problems[0]


def webhook_mode(env: dict[str, str]) -> dict[str, str]:
    port = free_port()
    return {**env, "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "HTTP_PORT": str(port)}


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_revoked_token_is_named_without_being_printed(bot_api: FakeBotApi, tmp_path: Path, mode: str) -> None:
    env = bot_env(bot_api, tmp_path, tmp_path / "chroma")
    env["TELEGRAM_BOT_TOKEN"] = REVOKED_TOKEN  # the server answers 401 Unauthorized to it
    if mode == "webhook":
        env = webhook_mode(env)
    code, output = await failed_start(env)
    assert code == 1, output[-3000:]
    line = the_one_problem(output, secret_forms(REVOKED_TOKEN))
    assert line == "error: Telegram rejected the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN"
    assert bot_api.methods() == []  # refused at the door: no call was carried out, setWebhook included


async def test_a_bot_api_that_answers_404_points_at_the_base_url(bot_api: FakeBotApi, tmp_path: Path) -> None:
    bot_api.fail_next("getMe", 404, "Not Found")
    code, output = await failed_start(bot_env(bot_api, tmp_path, tmp_path / "chroma"))
    assert code == 1, output[-3000:]
    line = the_one_problem(output, secret_forms(TEST_TOKEN))
    assert line.startswith("error: the Bot API answered 404 Not Found for this bot: check TELEGRAM_BASE_URL")
    assert bot_api.methods() == ["getMe"]


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_base_url_that_is_no_bot_api_is_named(bot_api: FakeBotApi, tmp_path: Path, mode: str) -> None:
    env = bot_env(bot_api, tmp_path, tmp_path / "chroma")
    # a path the server does not serve: its plain-text 404 page, not a Bot API answer
    wrong = f"http://127.0.0.1:{bot_api.port}/telegram-api"
    env["TELEGRAM_BASE_URL"] = wrong
    if mode == "webhook":
        env = webhook_mode(env)
    code, output = await failed_start(env)
    assert code == 1, output[-3000:]
    line = the_one_problem(output, secret_forms(TEST_TOKEN))
    assert (
        line
        == f"error: {wrong}/bot does not answer as a Telegram Bot API (HTTP 404 Not Found): check TELEGRAM_BASE_URL"
    )


async def test_a_failure_while_loading_is_one_line_and_stops_the_polling_bot(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path
) -> None:
    # getMe passes, the model, index and database load, then Telegram fails the last start-up call
    bot_api.fail_next("setMyCommands", 500, f"Internal Server Error near {TEST_TOKEN}")
    env = bot_env(bot_api, tmp_path, real_index)
    code, output = await failed_start(env)
    assert code == 1, output[-3000:]
    line = the_one_problem(output, secret_forms(TEST_TOKEN))
    assert line.startswith("error: the bot stopped: NetworkError: Internal Server Error near [REDACTED]")
    assert "getUpdates" not in bot_api.methods()  # it never began to poll


async def test_an_unreachable_database_is_one_line_and_stops_the_webhook_bot(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path
) -> None:
    env = webhook_mode(bot_env(bot_api, tmp_path, real_index))
    closed = free_port()  # nothing listens there
    env["DATABASE_URL"] = f"postgresql+asyncpg://advisor:{DATABASE_PASSWORD}@127.0.0.1:{closed}/advisor"
    code, output = await failed_start(env)
    assert code == 1, output[-3000:]
    line = the_one_problem(output, [*secret_forms(TEST_TOKEN), DATABASE_PASSWORD])
    assert line.startswith("error: the bot stopped: ")
    assert str(closed) in line  # which address could not be reached
    assert "setWebhook" not in bot_api.methods()  # Telegram was never told to post to a bot that is not there
