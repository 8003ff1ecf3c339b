"""Dropped connections and slow answers from the Bot API: the bot waits, sends again only what never arrived.

The real python-telegram-bot Application talks HTTP to the local Bot API server, which drops
connections before acting on a request and holds answers back on cue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telegram.ext import Application

from bench.harness.botapi import Call, FakeBotApi
from bench.harness.clock import SettableClock
from bot.advisor import Advisor
from bot.config import load_settings
from bot.telegram.app import build_application
from bot.telegram.lifecycle import running
from bot.telegram.requests import SEND_ATTEMPTS
from tests.conftest import TEST_TOKEN
from tests.test_nudges import BERLIN, bot_process, ledger, opt_in, settle, weekly

# Longer than python-telegram-bot's default read timeout (5 s), shorter than the bot's own.
SLOW_SECONDS = 8.0


@asynccontextmanager
async def bot(api: FakeBotApi, advisor: Advisor, data_dir: Path) -> AsyncIterator[Application]:
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=api.base_url, data_dir=data_dir
    )
    async with running(build_application(settings, advisor=advisor), poll_timeout=1) as app:
        yield app


def calls_of(api: FakeBotApi, method: str, chat_id: int | None = None) -> list[Call]:
    return [
        c for c in api.calls if c.method == method and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
    ]


async def test_polling_recovers_from_dropped_connections_and_waits_for_a_slow_answer(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = bot_api
    api.drop_next("getUpdates")
    api.drop_next("getUpdates")
    api.delay_next("getUpdates", SLOW_SECONDS)  # the first answer that gets through carries both questions
    await api.send_text("which cert for cloud?", chat_id=9801)
    await api.send_text("which cybersecurity certification should I start with?", chat_id=9802)
    async with bot(api, advisor, tmp_path):
        await api.wait_for_messages(1, chat_id=9801)
        await api.wait_for_messages(1, chat_id=9802)
        await api.wait_for_held_answers()
        # and it goes on answering; a question answered twice would show up before these replies
        await api.send_text("what about cheaper ones?", chat_id=9801)
        await api.send_text("what about cheaper ones?", chat_id=9802)
        await api.wait_for_messages(2, chat_id=9801)
        await api.wait_for_messages(2, chat_id=9802)

    polls = calls_of(api, "getUpdates")
    assert [p.answer for p in polls[:3]] == ["dropped", "dropped", "received"]  # the slow answer was waited for
    # python-telegram-bot's updater paused before asking again after each dropped connection
    assert polls[1].at - polls[0].at >= 0.9 and polls[2].at - polls[1].at >= 0.9
    for chat_id in (9801, 9802):
        answer, follow_up = api.sent_messages(chat_id)
        assert "Sources" in answer["text"] and "Sources" in follow_up["text"]


async def test_a_reply_whose_connection_dropped_is_sent_again_and_arrives_once(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = bot_api
    api.drop_next("sendMessage")
    async with bot(api, advisor, tmp_path):
        await api.send_text("which cert for cloud?", chat_id=9811)
        await api.wait_for_messages(1, chat_id=9811)
        await api.send_text("what about cheaper ones?", chat_id=9811)
        await api.wait_for_messages(2, chat_id=9811)

    dropped, resent, follow_up = calls_of(api, "sendMessage", 9811)
    assert (dropped.answer, resent.answer, follow_up.answer) == ("dropped", "received", "received")
    assert resent.params["text"] == dropped.params["text"] and "Sources" in resent.params["text"]
    assert "Sources" in follow_up.params["text"]
    assert len(api.sent_messages(9811)) == 2  # no apology, nothing twice


async def test_a_slow_reply_is_waited_for_and_not_sent_twice(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = bot_api
    api.delay_next("sendMessage", SLOW_SECONDS)
    async with bot(api, advisor, tmp_path):
        await api.send_text("which cert for cloud?", chat_id=9821)
        await api.wait_for_messages(1, chat_id=9821)  # it arrived; the answer to the bot is still held back
        await api.wait_for_held_answers()
        await api.send_text("what about cheaper ones?", chat_id=9821)
        await api.wait_for_messages(2, chat_id=9821)

    slow, follow_up = calls_of(api, "sendMessage", 9821)
    assert slow.answer == "received"  # the bot was still listening when the late answer came
    assert "Sources" in slow.params["text"] and "Sources" in follow_up.params["text"]
    assert len(api.sent_messages(9821)) == 2  # not sent again, and no apology for a reply that arrived


async def test_a_nudge_that_cannot_reach_telegram_for_a_while_goes_again_and_arrives_once(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    await opt_in(tmp_path, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))
    # longer than the send path's own retries: the nudge loop must try again, since none of these arrived
    for _ in range(SEND_ATTEMPTS + 2):
        bot_api.drop_next("sendMessage")
    clock = SettableClock(dt.datetime(2026, 12, 7, 16, 59, 59, tzinfo=dt.UTC))
    async with bot_process(bot_api, advisor, tmp_path, clock) as app:
        await bot_api.wait_for_messages(1, chat_id=BERLIN, within=60)
        await settle(app)  # every delivery finished: a wrong extra copy would be here by now

    attempts = calls_of(bot_api, "sendMessage", BERLIN)
    assert [c.answer for c in attempts] == ["dropped"] * (SEND_ATTEMPTS + 2) + ["received"]
    assert len({c.params["text"] for c in attempts}) == 1  # the same nudge each time
    assert len(bot_api.sent_messages(BERLIN)) == 1
    [(week, status, tries)] = await ledger(tmp_path, BERLIN)
    assert (week, status, tries) == ("2026-W50", "sent", 2)  # two rounds of the nudge loop


async def test_a_nudge_whose_answer_is_lost_is_not_sent_again(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    await opt_in(tmp_path, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))
    bot_api.delay_next("sendMessage", 5)  # carried out, but answered after the bot stopped waiting
    clock = SettableClock(dt.datetime(2026, 12, 7, 16, 59, 59, tzinfo=dt.UTC))
    async with bot_process(bot_api, advisor, tmp_path, clock, send_read_timeout=2.0) as app:
        for _ in range(600):  # the send path waits `send_read_timeout` for the answer
            rows = await ledger(tmp_path, BERLIN)
            if rows and rows[0][1] != "pending":
                break
            await asyncio.sleep(0.1)
        await settle(app)

    assert len(calls_of(bot_api, "sendMessage", BERLIN)) == 1  # it may have arrived: never a second copy
    [(week, status, tries)] = await ledger(tmp_path, BERLIN)
    assert (week, status, tries) == ("2026-W50", "failed", 1)
