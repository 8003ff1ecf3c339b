"""End to end: the real python-telegram-bot Application over HTTP against a local Bot API server."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.harness.botapi import FakeBotApi
from bot.advisor import Advisor
from bot.config import load_settings
from bot.logging_setup import install_redaction
from bot.telegram.app import build_application
from bot.telegram.bot import UPDATES_PER_POLL
from bot.telegram.lifecycle import running
from bot.telegram.rendering import TELEGRAM_LIMIT, utf16_len
from tests.conftest import TEST_TOKEN

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote"}


class _TagCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag


def assert_valid_telegram_html(text: str) -> None:
    assert utf16_len(text) <= TELEGRAM_LIMIT
    checker = _TagCheck()
    checker.feed(text)
    checker.close()
    assert checker.stack == []


@pytest.fixture
async def running_bot(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> AsyncIterator[FakeBotApi]:
    """The bot on each database: the questionnaire and the follow-up questions keep their state there."""
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=bot_api.base_url,
        data_dir=tmp_path,
        database_url=database_url,
    )
    app = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1):
        yield bot_api


async def test_start_help_and_a_question(running_bot: FakeBotApi) -> None:
    api = running_bot
    await api.send_text("/start")
    await api.send_text("/help")
    await api.send_text("which cert for cloud?")
    start, first_question, help_, answer, asked_again = await api.wait_for_messages(5, chat_id=1001)

    assert "career advisor" in start["text"].lower()
    assert "(1/8)" in first_question["text"] and first_question["reply_markup"]["inline_keyboard"]
    assert "/help" in help_["text"] and "/start" in help_["text"]
    text = answer["text"]
    assert answer["parse_mode"] == "HTML"
    assert_valid_telegram_html(text)
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    assert re.search(r"AWS Certified Cloud Practitioner|Cloud Digital Leader|Azure Fundamentals", plain)
    assert "Sources" in plain and "[1]" in plain and "knowledge/credentials/" in plain
    # the question came in the middle of the questionnaire: after the answer, the open question is asked again
    assert "Back to your profile" in asked_again["text"] and "(1/8)" in asked_again["text"]
    assert "setMyCommands" in api.methods()


async def test_replies_in_order_per_chat_and_handles_non_text(running_bot: FakeBotApi) -> None:
    api = running_bot
    for text in ("hi!", "which cert for cloud?", "what about cheaper ones?"):
        await api.send_text(text, chat_id=2002)
    await api.push_update(
        {
            "message": {
                "message_id": 5,
                "date": 0,
                "chat": {"id": 3003, "type": "private"},
                "from": {"id": 3003, "is_bot": False, "first_name": "B"},
                "sticker": {
                    "file_id": "x",
                    "file_unique_id": "y",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            }
        }
    )
    replies = await api.wait_for_messages(3, chat_id=2002)
    assert "Hi" in replies[0]["text"]
    assert "For cloud" in replies[1]["text"]
    assert "up to about 150 USD" in replies[2]["text"]
    [sticker_reply] = await api.wait_for_messages(1, chat_id=3003)
    assert "text messages" in sticker_reply["text"]


async def test_token_never_reaches_the_logs(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    install_redaction([TEST_TOKEN])  # attaches to every root handler, caplog's included
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=bot_api.base_url, data_dir=tmp_path
    )
    app = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1):
        await bot_api.send_text("which cert for cloud?")
        await bot_api.wait_for_messages(1)
    logging.getLogger("test").warning("a url with the token %s", f"{bot_api.base_url}{TEST_TOKEN}/getMe")
    assert caplog.records, "nothing was logged at DEBUG"
    secret = TEST_TOKEN.split(":")[1]
    for record in caplog.records:
        assert secret not in record.getMessage()
    assert secret not in caplog.text


async def test_a_backlog_of_updates_is_fetched_in_small_batches(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    """Parsing a fetched batch runs on the event loop in one go: Telegram's default of 100 stalled every chat."""
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=bot_api.base_url, data_dir=tmp_path
    )
    for user in range(60):  # waiting before the bot starts, as after a restart
        await bot_api.send_text("/help", chat_id=8800 + user)
    app = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1):
        for user in range(60):
            await bot_api.wait_for_messages(1, chat_id=8800 + user, within=60)
    polls = [c.params for c in bot_api.calls if c.method == "getUpdates"]
    assert polls and all(int(p.get("limit", 100)) == UPDATES_PER_POLL for p in polls)
    assert UPDATES_PER_POLL <= 20


@pytest.fixture
async def understanding_bot(
    bot_api: FakeBotApi, understanding_advisor: Advisor, tmp_path: Path
) -> AsyncIterator[FakeBotApi]:
    """The bot on the real knowledge base with its classifiers, as users meet it."""
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=bot_api.base_url, data_dir=tmp_path
    )
    app = build_application(settings, advisor=understanding_advisor)
    async with running(app, poll_timeout=1):
        yield bot_api


async def test_conversation_declines_follow_ups_and_roles_over_http(understanding_bot: FakeBotApi) -> None:
    api, chat = understanding_bot, 4004

    async def said(text: str, replies: int = 1) -> str:
        before = len(api.sent_messages(chat))
        await api.send_text(text, chat_id=chat)
        sent = await api.wait_for_messages(before + replies, chat_id=chat)
        return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", m["text"])) for m in sent[before:])

    assert "welcome" in (await said("thanks, that helps!")).lower()  # small talk, not a refusal
    declined = await said("can you book my AZ-900 exam for me")
    assert "can't" in declined and "I help you choose" in declined  # declined, with what it can do
    compared = await said("/compare AZ-900 vs AWS Cloud Practitioner")
    assert "Side by side" in compared
    second = await said("tell me more about the second one")  # the second credential of the comparison
    assert second.startswith("AWS Certified Cloud Practitioner") and "Official page" in second
    cheaper = await said("which cert for cloud?")
    assert "For cloud" in cheaper
    cheaper = await said("what about cheaper ones?")
    assert "For cloud" in cheaper and "up to about 150 USD" in cheaper
    assert "(1/8)" in await said("/start", replies=2)
    assert "(2/8)" in await said("I work as a bank teller")  # the role, taken out of the sentence
    await said("/cancel")
    profile = await said("/profile")
    assert "bank teller" in profile and "i work as" not in profile.lower()
