"""One input never becomes a flood of messages, and what a model writes is checked before anyone sees it.

End to end over HTTP against the local Bot API server, with the real advisor and the real index; the only
fake besides Telegram is the model provider, a scripted OpenAI-compatible server on loopback.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application

from bench.harness.botapi import Call, FakeBotApi
from bench.harness.botproc import plain, until
from bench.harness.llm_server import LLMServer
from bot.advisor import Advisor
from bot.config import SettingsError, load_settings
from bot.dialog.assistant import MAX_TEXT_CHARS, Assistant
from bot.dialog.replies import Button, Reply, UserRef
from bot.llm.answerer import LLMAnswerer
from bot.llm.context import MAX_PROMPT_SOURCES
from bot.llm.model import make_chat_model
from bot.llm.prompts import LLM_INTENTS, LLMPrompts
from bot.prompts import Texts
from bot.store import Store
from bot.telegram.app import build_application
from bot.telegram.lifecycle import running
from bot.telegram.sending import MAX_MESSAGES_PER_REPLY, StreamedReply, send_replies
from tests.conftest import TEST_TOKEN
from tests.test_llm_mode import llm_settings
from tests.test_telegram_e2e import assert_valid_telegram_html

NEW_MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
HELP_FIRST_LINE = "Commands:"
SHORTENED = "shortened"
MAX_COMPARED = 4


# -- helpers ---------------------------------------------------------------------------------------------


def new_messages(api: FakeBotApi, chat_id: int) -> list[Call]:
    """Every message the bot added to the chat (texts, photos, files), in order."""
    return [
        c for c in api.calls if c.ok and c.method in NEW_MESSAGE_METHODS and int(c.params.get("chat_id", 0)) == chat_id
    ]


async def messages_for(api: FakeBotApi, chat_id: int, text: str, *, within: float = 120.0) -> list[Call]:
    """The new messages one input produced.

    A chat's updates are handled in order, so once a /help sent right after it is answered, the bot is
    done with the input: everything it sent to the chat before that answer belongs to the input.
    """
    before = len(new_messages(api, chat_id))
    await api.send_text(text, chat_id=chat_id)
    await api.send_text("/help", chat_id=chat_id)

    def help_index() -> int | None:
        produced = new_messages(api, chat_id)[before:]
        return next(
            (
                i
                for i, c in enumerate(produced)
                if c.method == "sendMessage" and plain(c.params).startswith(HELP_FIRST_LINE)
            ),
            None,
        )

    await until(lambda: help_index() is not None, within=within, what="the follow-up /help to be answered")
    index = help_index()
    assert index is not None
    return new_messages(api, chat_id)[before : before + index]


def texts_of(calls: list[Call]) -> str:
    return "\n".join(plain(c.params) for c in calls if c.method == "sendMessage")


def catalog_names(advisor: Advisor) -> list[tuple[str, str]]:
    """(credential id, the shortest name that means only it), for every credential in the catalog."""
    vocab = advisor.state.vocab
    names = []
    for cid, forms in vocab.forms_of_credential.items():
        unique = [f.strip() for f in forms if vocab.credential_forms[f] == {cid}]
        if unique:
            names.append((cid, min(unique, key=len)))
    return sorted(names, key=lambda pair: (len(pair[1]), pair[0]))


def fill(head: str, separator: str, names: list[tuple[str, str]], tail: str = "") -> tuple[str, list[str]]:
    """As many names as fit in one message the bot accepts; the text and the ids named, in order."""
    used: list[tuple[str, str]] = []
    for pair in names:
        text = head + separator.join(n for _, n in [*used, pair]) + tail
        if len(text) > MAX_TEXT_CHARS - 10:
            break
        used.append(pair)
    return head + separator.join(n for _, n in used) + tail, [cid for cid, _ in used]


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid grey PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
async def grounded_bot(bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path) -> AsyncIterator[Application]:
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=bot_api.base_url, data_dir=tmp_path
    )
    app = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1):
        yield app


@pytest.fixture
async def telegram_bot(bot_api: FakeBotApi) -> AsyncIterator[Bot]:
    """A plain Bot over HTTP to the local Bot API server, for the sending layer on its own."""
    async with Bot(TEST_TOKEN, base_url=bot_api.base_url) as bot:
        yield bot


# -- one input, at most three messages -------------------------------------------------------------------


async def test_a_giant_compare_compares_four_and_says_which_were_left_out(
    grounded_bot: Application, bot_api: FakeBotApi, advisor: Advisor
) -> None:
    args, named = fill("", " vs ", catalog_names(advisor))
    assert len(named) > 100, "the question should name most of the catalog"
    produced = await messages_for(bot_api, 9401, f"/compare {args}")

    assert 1 <= len(produced) <= MAX_MESSAGES_PER_REPLY, [c.method for c in produced]
    text = texts_of(produced)
    catalog = advisor.catalog
    compared = [catalog.credentials[cid].name for cid in named[:MAX_COMPARED]]
    assert f"Side by side: {' vs '.join(compared)}" in text.splitlines()
    [note] = [line for line in text.splitlines() if "left out" in line]
    assert f"You named {len(named)} credentials" in note
    assert catalog.credentials[named[MAX_COMPARED]].name in note  # the first one left out is named
    for call in produced:
        if call.method == "sendMessage":
            assert_valid_telegram_html(str(call.params["text"]))


async def test_a_giant_question_naming_many_credentials_fits_in_three_messages(
    grounded_bot: Application, bot_api: FakeBotApi, advisor: Advisor
) -> None:
    question, named = fill("which is better: ", ", ", catalog_names(advisor), "?")
    assert len(named) > 100
    produced = await messages_for(bot_api, 9402, question)

    assert 1 <= len(produced) <= MAX_MESSAGES_PER_REPLY, [c.method for c in produced]
    text = texts_of(produced)
    [heading] = [line for line in text.splitlines() if line.startswith("Side by side:")]
    assert heading.count(" vs ") == MAX_COMPARED - 1
    assert any(f"You named {len(named)} credentials" in line and "left out" in line for line in text.splitlines())


# -- the sending layer, the last line of defence --------------------------------------------------------


async def test_a_reply_too_long_for_three_messages_is_cut_and_says_so(telegram_bot: Bot, bot_api: FakeBotApi) -> None:
    lines = [f"Line {n}: " + "a fairly long sentence about credentials and careers " * 10 for n in range(200)]
    long = Reply("\n".join(lines), [[Button("Show roadmap", "r:")]], image=tiny_png(), image_name="chart.png")
    await send_replies(telegram_bot, 9403, [long])

    produced = new_messages(bot_api, 9403)
    assert [c.method for c in produced] == ["sendMessage"] * MAX_MESSAGES_PER_REPLY  # text before the picture
    texts = produced
    assert SHORTENED in plain(texts[-1].params)
    assert bot_api.buttons(texts[-1].params) == ["r:"]  # the buttons stay under the last text shown
    for call in texts:
        assert_valid_telegram_html(str(call.params["text"]))


async def test_several_replies_share_the_three_messages_and_each_is_shown(
    telegram_bot: Bot, bot_api: FakeBotApi
) -> None:
    long = Reply("\n".join(f"Point {n}: " + "details " * 80 for n in range(100)), image=tiny_png())
    question = Reply("Back to your profile: how many hours a week?", [[Button("5 hours", "b:ask:hours:5")]])
    await send_replies(telegram_bot, 9404, [long, question])

    produced = new_messages(bot_api, 9404)
    assert len(produced) <= MAX_MESSAGES_PER_REPLY
    last = produced[-1]
    assert last.method == "sendMessage" and plain(last.params) == question.text
    assert bot_api.buttons(last.params) == ["b:ask:hours:5"]
    assert SHORTENED in texts_of(produced[:-1])


async def test_a_streamed_answer_counts_its_draft_among_the_three(telegram_bot: Bot, bot_api: FakeBotApi) -> None:
    draft = StreamedReply(telegram_bot, 9405, interval_seconds=0)
    await draft.update("For cloud, start with the first pick.")
    long = Reply("\n".join(f"Step {n}: " + "study the objectives " * 40 for n in range(150)), image=tiny_png())
    await draft.finish([long])

    produced = new_messages(bot_api, 9405)
    assert len(produced) <= MAX_MESSAGES_PER_REPLY
    edits = [c for c in bot_api.calls if c.method == "editMessageText"]
    assert edits and int(edits[-1].params["message_id"]) == produced[0].params["_message_id"]
    assert SHORTENED in texts_of(produced[1:]) or SHORTENED in plain(edits[-1].params)


async def test_a_draft_that_cannot_be_edited_is_deleted_rather_than_left_showing(
    telegram_bot: Bot, bot_api: FakeBotApi
) -> None:
    draft = StreamedReply(telegram_bot, 9406, interval_seconds=0)
    await draft.update("A first sentence of a draft.")
    [shown] = bot_api.sent_messages(9406)
    bot_api.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    await draft.finish([Reply("The checked answer.")])

    deleted = [c.params for c in bot_api.calls if c.method == "deleteMessage"]
    assert [int(d["message_id"]) for d in deleted] == [shown["_message_id"]]
    assert plain(bot_api.sent_messages(9406)[-1]) == "The checked answer."


# -- what the model is given and allowed -----------------------------------------------------------------


def llm_answerer(server: LLMServer, tmp_path: Path) -> LLMAnswerer:
    settings = llm_settings(server, tmp_path)
    return LLMAnswerer(make_chat_model(settings), LLMPrompts.load(), settings.llm_timeout_seconds)


async def test_the_prompt_carries_at_most_eight_sources(
    llm_server: LLMServer, advisor: Advisor, tmp_path: Path
) -> None:
    grounded = advisor.answer("I work in sales and want to become a data analyst")
    assert len(grounded.sources) > MAX_PROMPT_SOURCES, "the question should draw on more sources than the cap"
    llm_server.answer("Start with the first step of the path [1], then the next [2]. See also [9].")
    state = advisor.state
    answer = await llm_answerer(llm_server, tmp_path).write(grounded, None, (), state.catalog, state.vocab)

    user = llm_server.requests[-1]["body"]["messages"][1]["content"]
    assert user.count("<source n=") == MAX_PROMPT_SOURCES == user.count("</source>")
    assert answer.mode == "llm" and "[9]" not in answer.text  # a source it was not given cannot be cited
    assert answer.sources == grounded.sources[:MAX_PROMPT_SOURCES]


async def test_every_request_sets_a_token_limit(llm_server: LLMServer, advisor: Advisor, tmp_path: Path) -> None:
    llm_server.answer("For cloud, start with the first pick [1].")
    grounded = advisor.answer("which cert for cloud?")
    state = advisor.state
    await llm_answerer(llm_server, tmp_path).write(grounded, None, (), state.catalog, state.vocab)
    body = llm_server.requests[-1]["body"]
    # servers that know only the older name (Ollama, LM Studio) read max_tokens; OpenAI the newer one
    assert body["max_tokens"] == 800 and body["max_completion_tokens"] == 800


def test_the_token_limit_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="LLM_MAX_TOKENS"):
        load_settings(_env_file=None, data_dir=tmp_path, llm_max_tokens=0)


@pytest.mark.parametrize(("allowance", "requests_per_answer"), [(3, [1, 2, 0]), (2, [1, 1, 0])])
async def test_every_model_call_counts_against_the_daily_allowance(
    llm_server: LLMServer,
    advisor: Advisor,
    tmp_path: Path,
    allowance: int,
    requests_per_answer: list[int],
) -> None:
    """The condense call of a follow-up is a second unit; without one left, the follow-up is not condensed."""
    llm_server.answer("For cloud, start with the first pick [1].")
    if requests_per_answer[1] == 2:
        llm_server.answer("Which cloud certifications are cheaper than the ones you listed?")
    llm_server.answer("The cheaper one is the first pick [1].")
    user = UserRef(user_id=4242, chat_id=4242)
    async with await Store.open(f"sqlite+aiosqlite:///{(tmp_path / 'bot.sqlite3').as_posix()}") as store:
        assistant = Assistant(
            store, advisor, Texts.load(), llm=llm_answerer(llm_server, tmp_path), llm_daily_requests=allowance
        )
        modes, counts = [], []
        for question in ("which cert for cloud?", "what about cheaper ones?", "which cert for cybersecurity?"):
            before = len(llm_server.requests)
            [reply] = await assistant.ask(user, question)
            assert reply.answer is not None and reply.answer.intent in LLM_INTENTS  # each one is for the model
            modes.append(reply.answer.mode)
            counts.append(len(llm_server.requests) - before)
        used = await store.llm_usage.take(user.user_id, assistant.today(), allowance + 1)
    assert counts == requests_per_answer
    assert modes == ["llm", "llm", "grounded"]
    assert used  # exactly the allowance was spent: one more unit fits under allowance + 1


# -- streaming shows only text that passed the checks ------------------------------------------------------

SYSTEM = LLMPrompts.load().system
LEAKED_LINE = next(line.strip("- ") for line in SYSTEM.splitlines() if line.startswith("- Use only"))
FINE = "For cloud, the first pick fits a beginner well [1]. It is the usual entry point [1]. "


@pytest.mark.parametrize(
    ("bad", "never_shown"),
    [
        (LEAKED_LINE, LEAKED_LINE.split(".")[0]),
        ("Then take the AWS Certified Quantum Architect – Specialty (QAX-C01) exam.", "Quantum"),
    ],
    ids=["repeats-instructions", "unknown-credential"],
)
async def test_a_draft_that_fails_the_checks_is_never_shown(
    llm_server: LLMServer, bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, bad: str, never_shown: str
) -> None:
    llm_server.answer(FINE * 3 + bad + " " + FINE * 4)
    settings = llm_settings(llm_server, tmp_path, telegram_bot_token=TEST_TOKEN, telegram_base_url=bot_api.base_url)
    app = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1):
        produced = await messages_for(bot_api, 9407, "which cert for cloud?")

    shown: list[dict[str, Any]] = [
        c.params for c in bot_api.calls if c.method in ("sendMessage", "editMessageText") and c.ok
    ]
    folded = " ".join(never_shown.lower().split())
    for params in shown:
        assert folded not in " ".join(plain(params).lower().split()), plain(params)
    [draft] = [c for c in produced if c.method == "sendMessage"]
    assert plain(draft.params).endswith("…"), "the checked part of the answer should still stream"
    final = [p for p in shown if "message_id" in p and int(p["message_id"]) == draft.params["_message_id"]][-1]
    grounded = advisor.answer("which cert for cloud?")
    assert final.get("parse_mode") == "HTML" and plain(final).startswith(grounded.text.splitlines()[0])
