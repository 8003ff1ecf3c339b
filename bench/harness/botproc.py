"""The real `python -m bot` as a child process against the local Bot API server, for restart and crash tests.

A process here is what runs on a server: it loads the model, migrates the database, polls the local
server and can be killed with SIGKILL at any moment a test picks, then started again on the same files.
Every test and benchmark that runs `python -m bot` builds its command with `bot_command` or starts it
with `spawn_bot` (from the repository, nothing on stdin), so how the bot is launched is written once.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

from telegram.ext import Application

from bench.harness.botapi import Call, FakeBotApi
from bench.harness.models import MODEL_CACHE
from bot.telegram.app import PerChatOrder

ROOT = Path(__file__).resolve().parents[2]
# Loading the embedding model dominates a start; a busy machine can take several times the usual.
START_WITHIN_SECONDS = 120.0
REPLY_WITHIN_SECONDS = 60.0
_runs = itertools.count(1)  # numbers each process's log file


def bot_command(*args: str) -> list[str]:
    """The argv of `python -m bot ARGS` with this interpreter: no arguments runs the bot, others a subcommand."""
    return [sys.executable, "-m", "bot", *args]


async def spawn_bot(
    env: dict[str, str],
    *args: str,
    stdout: int | IO[Any] | None = asyncio.subprocess.PIPE,
    stderr: int | IO[Any] | None = asyncio.subprocess.PIPE,
) -> asyncio.subprocess.Process:
    """Start `python -m bot ARGS` from the repository with `env` as its whole environment; nothing on stdin."""
    return await asyncio.create_subprocess_exec(
        *bot_command(*args), cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=stdout, stderr=stderr
    )


def bot_env(api: FakeBotApi, data_dir: Path, index: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of a bot process that talks only to `api` and keeps its files under `data_dir`.

    The database is the SQLite file in `data_dir` unless `database_url` names another.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LLM_", "DATABASE_", "CHROMA_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_BASE_URL=api.base_url,
        DATA_DIR=str(data_dir),
        CHROMA_PATH=str(index),
        HF_HUB_OFFLINE="1",
        LOG_LEVEL="INFO",
        # a scripted user writes faster than any person; the flood limit has tests of its own
        USER_MESSAGES_PER_MINUTE="1000",
        MODEL_CACHE_DIR=str(MODEL_CACHE),  # the ONNX export, made once for the whole test run
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def plain(message: dict[str, Any]) -> str:
    """A sent message's text as the user reads it: tags dropped, entities unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", str(message["text"])))


async def until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` when it does not within the time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def caught_up(app: Application, updates: int, *, within: float = REPLY_WITHIN_SECONDS) -> None:
    """Wait until the in-process bot has handled `updates` updates (answered, refused or dropped).

    Checking that something did *not* happen (no reply, no second copy) is only meaningful once the bot
    has handled what it was given; a fixed sleep would also pass for a bot that is merely slow.
    """
    order = app.update_processor
    assert isinstance(order, PerChatOrder), "the Application was not built by build_application"
    await until(lambda: order.handled >= updates, within=within, what=f"the bot to handle {updates} updates")


def held_calls(api: FakeBotApi, method: str) -> list[Call]:
    """Calls of `method` the server has carried out but not answered yet (see `FakeBotApi.delay_next`)."""
    return [c for c in api.calls if c.method == method and c.answer == "pending"]


class BotProcess:
    """One run of `python -m bot`; its log goes to a file so that a failing test can show it."""

    def __init__(
        self, api: FakeBotApi, data_dir: Path, index: Path, log: Path, database_url: str | None = None
    ) -> None:
        self.api = api
        self.data_dir = data_dir
        self.index = index
        self.log = log
        self.database_url = database_url
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process and return once it is ready: commands registered, nudges scheduled, polling next."""
        ready_before = self.api.methods().count("setMyCommands")
        with self.log.open("ab") as log:
            env = bot_env(self.api, self.data_dir, self.index, self.database_url)
            self._process = await spawn_bot(env, stdout=log, stderr=asyncio.subprocess.STDOUT)
        process = self._process

        def ready() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode} while starting:\n{self.log_tail()}")
            return self.api.methods().count("setMyCommands") > ready_before

        try:
            await until(ready, within=START_WITHIN_SECONDS, what="the bot to start")
        except AssertionError as problem:
            raise AssertionError(f"{problem}\n{self.log_tail()}") from None

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed, as when the machine or the OOM killer ends it."""
        process = self._process
        assert process is not None and process.returncode is None, "the bot is not running"
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert process.returncode == -signal.SIGKILL, self.log_tail()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@asynccontextmanager
async def bot_process(
    api: FakeBotApi, data_dir: Path, index: Path, database_url: str | None = None
) -> AsyncIterator[BotProcess]:
    """A started bot process; it is killed on the way out if the test has not killed it already."""
    bot = BotProcess(api, data_dir, index, data_dir / f"bot-{next(_runs)}.log", database_url)
    try:
        await bot.start()
        yield bot
    finally:
        if bot.running:
            await bot.kill()


class Chat:
    """One user's private chat: send text or press a button, then read the bot's new messages."""

    def __init__(self, api: FakeBotApi, chat_id: int) -> None:
        self.api = api
        self.chat_id = chat_id

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.api.sent_messages(self.chat_id)

    async def say(self, text: str, expect: int = 1) -> list[dict[str, Any]]:
        before = len(self.messages)
        await self.api.send_text(text, chat_id=self.chat_id)
        return await self._after(before, expect)

    async def press(self, data: str, expect: int = 1) -> list[dict[str, Any]]:
        before = len(self.messages)
        await self.api.press_button(data, chat_id=self.chat_id)
        return await self._after(before, expect)

    async def _after(self, before: int, count: int) -> list[dict[str, Any]]:
        messages = await self.api.wait_for_messages(before + count, chat_id=self.chat_id, within=REPLY_WITHIN_SECONDS)
        return messages[before : before + count]
