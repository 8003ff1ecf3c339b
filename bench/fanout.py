"""How many messages one hostile input makes the bot send: the real bot, in this process, against the local Bot API.

    .venv/bin/python -m bench.fanout [--json FILE]

Feeds inputs built to make the bot talk as much as possible (a /compare naming most of the catalog, a question
naming as many credentials as a message holds, 10,000 characters, every command with huge arguments, a giant
question in the middle of the questionnaire), each from its own chat, in grounded mode and in LLM mode against a
scripted model on loopback that answers at great length. It counts the new messages (texts, photos, files) each
input produced and prints the largest count; the bot's limit is MAX_MESSAGES_PER_REPLY. In LLM mode it also
prints the most sources one prompt carried. Uses the project's index (`python -m ingest` first).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import TOKEN, BenchContext
from bench.harness.botapi import Call, FakeBotApi
from bench.harness.llm_server import LLMServer
from bench.report import table
from bench.telegram_load import bot_settings
from bot.advisor import Advisor
from bot.config import load_settings
from bot.dialog.assistant import MAX_TEXT_CHARS
from bot.logging_setup import configure_logging
from bot.telegram.app import build_application
from bot.telegram.lifecycle import running
from bot.telegram.sending import MAX_MESSAGES_PER_REPLY

NEW_MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
STICKER_ANSWER = "I can only read text messages."
ADMIN_CHAT = 7_700_000
FIRST_CHAT = 7_700_001
TELEGRAM_MAX_CHARS = 4096
WITHIN_SECONDS = 180.0
COMMANDS = [
    "/start",
    "/plan",
    "/roadmap",
    "/progress",
    "/profile",
    "/compare",
    "/nudges",
    "/forget",
    "/cancel",
    "/help",
    "/stats",
    "/reindex",
    "/nosuchcommand",
]
_sticker_ids = itertools.count(900_000_000)


@dataclass(frozen=True)
class Hostile:
    name: str
    messages: list[str]  # sent in this order; the last one is the input being measured
    admin: bool = False


def short_names(advisor: Advisor) -> list[str]:
    """For every credential, the shortest name that means only it: the most names per character."""
    vocab = advisor.state.vocab
    names = []
    for cid, forms in vocab.forms_of_credential.items():
        unique = [f.strip() for f in forms if vocab.credential_forms[f] == {cid}]
        if unique:
            names.append(min(unique, key=len))
    return sorted(names, key=len)


def fill(head: str, separator: str, names: list[str], limit: int, tail: str = "") -> str:
    used: list[str] = []
    for name in names:
        if len(head + separator.join([*used, name]) + tail) > limit:
            break
        used.append(name)
    return head + separator.join(used) + tail


def hostile_inputs(advisor: Advisor) -> list[Hostile]:
    names = short_names(advisor)
    most = MAX_TEXT_CHARS - len("compare ") - 2
    huge_args = fill("", " vs ", names * 20, TELEGRAM_MAX_CHARS - 40)
    inputs = [
        Hostile("giant /compare", [fill("/compare ", " vs ", names, most)]),
        Hostile("giant question (which is better)", [fill("which is better: ", ", ", names, most, "?")]),
        Hostile("giant question (difference between)", [fill("what is the difference between ", " and ", names, most)]),
        Hostile("giant question (I hold ...)", [fill("I already hold ", ", ", names, most, ". What next?")]),
        Hostile("career switch (drawing on many sources)", ["I work in sales and want to become a data analyst"]),
        Hostile("10,000 characters of x", ["x" * 10_000]),
        Hostile("10,000 characters of names", [fill("compare ", " vs ", names * 20, 10_000)]),
        Hostile("giant question during /start", ["/start", fill("which is better: ", ", ", names, most, "?")]),
        Hostile("/broadcast with huge text (admin)", [f"/broadcast {huge_args}"], admin=True),
        Hostile("/broadcast within its limit (admin)", [f"/broadcast {huge_args[:3400]}"], admin=True),
    ]
    inputs += [Hostile(f"{command} + {len(huge_args)} chars", [f"{command} {huge_args}"]) for command in COMMANDS]
    return inputs


def plain(text: object) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(text)))


def new_messages(api: FakeBotApi, chat_id: int) -> list[Call]:
    return [
        c for c in api.calls if c.ok and c.method in NEW_MESSAGE_METHODS and int(c.params.get("chat_id", 0)) == chat_id
    ]


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def send_sticker(api: FakeBotApi, chat_id: int) -> None:
    """A sticker: its answer is one message no text input gets, so it marks where an input's replies end."""
    sticker = {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512}
    sticker |= {"is_animated": False, "is_video": False, "type": "regular"}
    message = {
        "message_id": next(_sticker_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Mallory"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Mallory"},
        "sticker": sticker,
    }
    await api.push_update({"message": message})


async def exchange(api: FakeBotApi, chat_id: int, text: str, what: str) -> int:
    """The number of new messages `text` made the bot send.

    A chat's updates are handled one at a time, in order: once a sticker sent right after the text is
    answered, everything the bot sent to the chat before that answer belongs to the text.
    """
    before = len(new_messages(api, chat_id))
    await api.send_text(text, chat_id=chat_id)
    await send_sticker(api, chat_id)

    def sentinel() -> int | None:
        produced = new_messages(api, chat_id)[before:]
        found = (i for i, c in enumerate(produced) if plain(c.params.get("text", "")).startswith(STICKER_ANSWER))
        return next(found, None)

    await until(lambda: sentinel() is not None, WITHIN_SECONDS, f"the answer to {what}")
    index = sentinel()
    assert index is not None
    return index


async def count_messages(api: FakeBotApi, chat_id: int, hostile: Hostile) -> int:
    for setup in hostile.messages[:-1]:
        await exchange(api, chat_id, setup, f"{hostile.name} (set-up)")
    return await exchange(api, chat_id, hostile.messages[-1], hostile.name)


async def run_mode(ctx: BenchContext, inputs: list[Hostile], llm: LLMServer | None) -> dict[str, int]:
    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
            base = bot_settings(ctx.settings, api.base_url, Path(tmp))
            extra: dict[str, Any] = {"admin_user_ids": [ADMIN_CHAT], "user_messages_per_minute": 1000}
            if llm is not None:
                extra |= {"llm_model": "openai:bench-model", "llm_base_url": llm.base_url, "llm_api_key": "bench"}
            settings = load_settings(_env_file=None, **{**base.model_dump(), **extra})
            configure_logging(settings, quiet=True)
            app = build_application(settings, advisor=ctx.advisor)
            async with running(app, poll_timeout=1):
                chats = [ADMIN_CHAT if h.admin else FIRST_CHAT + i for i, h in enumerate(inputs)]
                pairs = list(zip(inputs, chats, strict=True))
                # every user's input at once; the admin's share one chat, so they go one after the other
                users = [(h, c) for h, c in pairs if not h.admin]
                counts = await asyncio.gather(*(count_messages(api, c, h) for h, c in users))
                results = {h.name: n for (h, _), n in zip(users, counts, strict=True)}
                for hostile, chat in pairs:
                    if hostile.admin:
                        results[hostile.name] = await count_messages(api, chat, hostile)
                return {h.name: results[h.name] for h in inputs}
    finally:
        await api.stop()


def long_winded_answer() -> str:
    """About 12,000 characters in 40 streamed pieces: a model that ignores the length it was asked for."""
    sentence = "The first pick fits a beginner well [1]."
    # the scripted server streams one space-separated word at a time: no-break spaces make each piece long
    piece = " ".join([sentence] * 7).replace(" ", "\u00a0")
    return " ".join([piece] * 40)


async def measure(ctx: BenchContext) -> dict[str, Any]:
    inputs = hostile_inputs(ctx.advisor)
    grounded = await run_mode(ctx, inputs, None)
    llm = LLMServer()
    await llm.start()
    try:
        for _ in range(4 * len(inputs)):
            llm.answer(long_winded_answer())
        in_llm_mode = await run_mode(ctx, inputs, llm)
        sources = [r["body"]["messages"][-1]["content"].count("<source n=") for r in llm.requests]
    finally:
        await llm.stop()
    return {
        "limit": MAX_MESSAGES_PER_REPLY,
        "grounded": grounded,
        "llm": in_llm_mode,
        "max_messages": max([*grounded.values(), *in_llm_mode.values()]),
        "model_requests": len(sources),
        "max_sources_in_a_prompt": max(sources, default=0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    ctx = BenchContext()
    figures = asyncio.run(measure(ctx))
    rows = [[name, figures["grounded"][name], figures["llm"].get(name, "")] for name in figures["grounded"]]
    print(table(["input", "messages (grounded)", "messages (LLM mode)"], rows))
    print()
    print(f"largest number of messages from one input: {figures['max_messages']} (limit {figures['limit']})")
    print(
        f"model requests: {figures['model_requests']}; most sources in one prompt: {figures['max_sources_in_a_prompt']}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
