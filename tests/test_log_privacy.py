"""Logs hold user ids, not what users write (unless LOG_MESSAGE_TEXT), at every level, the libraries' DEBUG included."""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import bot_env, spawn_bot
from bot.advisor import Advisor
from bot.config import load_settings
from bot.logging_setup import HideMessageText, hide_strings, install_log_filters
from bot.store import Store
from bot.telegram.app import build_application
from bot.telegram.lifecycle import running
from tests.conftest import TEST_TOKEN

USER_ID = 5550123
SECRET = TEST_TOKEN.split(":")[1]


def unique_marker() -> str:
    return f"quokka{uuid.uuid4().hex[:12]}"


@pytest.fixture
def restore_root_filters() -> Iterator[None]:
    """The filters go onto pytest's own capture handlers, which outlive the test: take them off again."""
    handlers = logging.getLogger().handlers
    before = {handler: list(handler.filters) for handler in handlers}
    yield
    for handler, filters in before.items():
        handler.filters[:] = filters


async def converse(bot_api: FakeBotApi, marker: str) -> None:
    """A question and an unknown command, both carrying the marker; the reply to the command quotes it."""
    await bot_api.send_text(f"which cert for cloud? {marker}", chat_id=USER_ID, first_name=f"Name{marker}")
    await bot_api.send_text(f"/{marker}", chat_id=USER_ID, first_name=f"Name{marker}")
    replies = await bot_api.wait_for_messages(3, chat_id=USER_ID)
    assert any(marker in reply["text"] for reply in replies)  # the bot's own reply carries it too


@pytest.mark.usefixtures("restore_root_filters")
@pytest.mark.parametrize("log_message_text", [False, True])
async def test_debug_logs_hold_user_ids_but_not_message_text(
    bot_api: FakeBotApi,
    advisor: Advisor,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    log_message_text: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=bot_api.base_url,
        data_dir=tmp_path,
        log_level="DEBUG",
        log_message_text=log_message_text,
    )
    install_log_filters(settings)  # what configure_logging attaches, onto caplog's handler
    marker = unique_marker()
    app = build_application(settings, advisor=advisor)
    async with running(app, poll_timeout=1):
        await converse(bot_api, marker)

    messages = [record.getMessage() for record in caplog.records]
    assert any(str(USER_ID) in message for message in messages), "no record names the user"
    with_marker = [m for m in messages if marker in m]
    if log_message_text:
        assert with_marker, "LOG_MESSAGE_TEXT is on, yet the text never reached the DEBUG logs"
    else:
        assert with_marker == []
        assert marker not in caplog.text
    assert not [m for m in messages if SECRET in m]
    assert SECRET not in caplog.text


async def test_the_running_bot_keeps_text_out_of_its_debug_output(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path
) -> None:
    # the whole path: `python -m bot` configures logging itself from LOG_LEVEL and LOG_MESSAGE_TEXT
    env = bot_env(bot_api, tmp_path, real_index)
    env.update(LOG_LEVEL="DEBUG", LOG_MESSAGE_TEXT="false")
    marker = unique_marker()
    process = await spawn_bot(env)
    try:
        await converse(bot_api, marker)
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = stderr.decode()
    assert process.returncode == 0, output[-2000:]
    assert "Processing update" in output  # the library's DEBUG lines are there ...
    assert f"'id': {USER_ID}" in output  # ... with the user's id ...
    assert marker not in output  # ... but not their words or name
    assert SECRET not in output


def test_payloads_keep_ids_and_structure_but_lose_their_strings() -> None:
    payload = {
        "update_id": 7,
        "message": {"chat": {"id": 42, "type": "private"}, "text": "my salary is 50k", "entities": [{"type": "x"}]},
        "raw": b"bytes too",
    }
    assert hide_strings(payload) == {
        "update_id": 7,
        "message": {"chat": {"id": 42, "type": "private"}, "text": "[16 chars hidden]", "entities": [{"type": "x"}]},
        "raw": "[9 chars hidden]",
    }


def test_json_text_in_a_record_is_hidden_and_plain_arguments_pass() -> None:
    record = logging.LogRecord(
        "telegram.ext",
        logging.DEBUG,
        __file__,
        1,
        "%s received %s (%d)",
        ("Webhook", '{"text": "secret plan"}', 3),
        None,
    )
    hider = HideMessageText()
    assert hider.filter(record) and hider.filter(record)  # a second handler must not hide the hiding
    assert record.getMessage() == "Webhook received {'text': '[11 chars hidden]'} (3)"


@pytest.mark.usefixtures("restore_root_filters")
def test_the_token_is_redacted_whole_url_encoded_and_by_its_secret_part(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = load_settings(_env_file=None, telegram_bot_token=TEST_TOKEN, data_dir=tmp_path)
    install_log_filters(settings)
    log = logging.getLogger("tests.privacy")
    encoded = quote(TEST_TOKEN, safe="")
    other_bot = "555555555%3AAAAnotherBotsTokenSeenInAUrl_0123456789"
    log.warning("redirected to https://example.invalid/?next=%s", f"/bot{encoded}/getMe")
    log.warning("a library printed only the secret: %s", SECRET)
    log.warning("a token shaped thing, URL-encoded: %s", other_bot)
    try:
        raise RuntimeError(f"the token `{TEST_TOKEN}` was rejected")
    except RuntimeError:
        log.exception("start failed")

    assert len(caplog.records) == 4
    for leaked in (TEST_TOKEN, SECRET, encoded, other_bot, "AAAnotherBotsTokenSeenInAUrl"):
        assert leaked not in caplog.text
    assert caplog.text.count("[REDACTED]") >= 4
    assert "123456789" not in caplog.text  # the token goes whole, not just its tail


async def test_database_errors_keep_the_values_of_a_statement_out_of_their_message(database_url: str) -> None:
    marker = unique_marker()
    async with await Store.open(database_url) as store:
        with pytest.raises(DBAPIError) as failed:
            async with store.engine.begin() as connection:
                # missing required columns: the statement fails, with the user's words among its parameters
                await connection.execute(
                    text("INSERT INTO conversation_turns (chat_id, question) VALUES (:chat, :question)"),
                    {"chat": USER_ID, "question": f"my salary is 50k {marker}"},
                )
    assert "INSERT INTO conversation_turns" in str(failed.value)  # the statement is still there for debugging
    assert marker not in str(failed.value)
    assert marker not in repr(failed.value)
