"""One user's flood cannot hold up anyone else; the flood counter remembers nobody; strangers are told once.

The update processor is tested on its own first (in-process, with coroutines standing in for handling),
then end to end over HTTP: the real Application polls the local Bot API server, and one user's handling
is made slow at the outside edge by holding back the server's answers to the messages sent into their chat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from telegram import Chat, Message, Update, User

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import until
from bench.harness.held_chats import HeldChatsBotApi
from bot.advisor import Advisor
from bot.config import Settings, load_settings
from bot.guard import OncePer
from bot.store import Store
from bot.store.tables import utcnow
from bot.telegram.app import MAX_WAITING_PER_USER, PerChatOrder, build_application
from bot.telegram.lifecycle import running
from tests.conftest import TEST_TOKEN
from tests.support.databases import plain_engine
from tests.test_guard_e2e import SLOW_DOWN, forge_press, plain

FLOODER, ASKER, STRANGER, MEMBER = 9301, 9302, 9303, 9304
CHANNEL = -1009305
FLOOD = 200
PRIVATE = "Sorry, this bot is private."
EXPIRED = "That button has expired. Send /help to see what I can do."


# -- the update processor on its own ----------------------------------------------------------------


def message(update_id: int, user_id: int) -> Update:
    chat, user = Chat(user_id, Chat.PRIVATE), User(user_id, "Ana", is_bot=False)
    return Update(update_id, message=Message(update_id, dt.datetime.now(dt.UTC), chat, from_user=user, text="hi"))


class Dropped:
    """What the processor reports about the updates it drops."""

    def __init__(self) -> None:
        self.updates: list[tuple[int, bool]] = []  # (update id, first of its burst)

    async def __call__(self, update: Update, first: bool) -> None:
        self.updates.append((update.update_id, first))


async def test_waiting_for_a_busy_user_holds_no_worker() -> None:
    processor = PerChatOrder(max_concurrent_updates=2)
    busy, served = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        await busy.wait()

    async def quick() -> None:
        pass

    async def answer() -> None:
        served.set()

    # user 1's first update is in hand and slow; five more of theirs wait for it; then user 2 writes once
    tasks = [asyncio.create_task(processor.process_update(message(1, 1), slow()))]
    tasks += [asyncio.create_task(processor.process_update(message(n, 1), quick())) for n in range(2, 7)]
    tasks.append(asyncio.create_task(processor.process_update(message(100, 2), answer())))
    try:
        await asyncio.wait_for(served.wait(), 10)  # user 2 is served while user 1's backlog waits
        assert not busy.is_set()
    finally:
        busy.set()
        await asyncio.gather(*tasks)
    assert processor.busy_keys == 0


async def test_updates_beyond_the_waiting_cap_are_dropped_with_one_notice_per_burst() -> None:
    dropped = Dropped()
    processor = PerChatOrder(max_waiting_per_user=3, on_dropped=dropped)
    ran: list[int] = []

    async def burst(first_id: int, count: int) -> None:
        busy = asyncio.Event()

        async def handle(update_id: int) -> None:
            ran.append(update_id)
            if update_id == first_id:
                await busy.wait()  # the first is slow, so the rest of the burst piles up behind it

        ids, before = range(first_id, first_id + count), len(dropped.updates)
        tasks = [asyncio.create_task(processor.process_update(message(n, 1), handle(n))) for n in ids]
        await until(lambda: len(dropped.updates) - before == count - 4, within=10, what="the excess to be dropped")
        busy.set()
        await asyncio.gather(*tasks)

    await burst(1, 10)
    assert ran == [1, 2, 3, 4]  # one in hand and three waiting, in order
    assert dropped.updates == [(5, True)] + [(n, False) for n in range(6, 11)]
    assert processor.busy_keys == 0

    await burst(11, 6)  # a new burst once the last one has drained: told again
    assert ran[4:] == [11, 12, 13, 14]
    assert dropped.updates[6:] == [(15, True), (16, False)]


# -- end to end ------------------------------------------------------------------------------------


def bot_settings(api: FakeBotApi, data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=api.base_url, data_dir=data_dir, **overrides
    )


@pytest.fixture
async def held_api() -> AsyncIterator[HeldChatsBotApi]:
    server = HeldChatsBotApi(TEST_TOKEN)
    await server.start()
    try:
        yield server
    finally:
        server.release()
        await server.stop()


def kinds(api: FakeBotApi, chat_id: int) -> dict[str, int]:
    """The chat's messages by kind: help texts, requests to slow down, and anything else."""
    counts = {"help": 0, "slow down": 0, "other": 0}
    for sent in api.sent_messages(chat_id):
        body = plain(sent)
        kind = "slow down" if body == SLOW_DOWN else "help" if "/forget" in body else "other"
        counts[kind] += 1
    return counts


def presses_answered(api: FakeBotApi) -> list[Any]:
    return [c.params.get("text") for c in api.calls if c.method == "answerCallbackQuery"]


async def test_one_users_flood_does_not_hold_up_another_and_is_told_once_per_burst(
    held_api: HeldChatsBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = held_api
    app = build_application(bot_settings(api, tmp_path, user_messages_per_minute=100), advisor=advisor)
    async with running(app, poll_timeout=1):
        try:
            api.hold(FLOODER)  # every reply to the flooder takes until the test lets it go
            for n in range(FLOOD):
                await api.send_text("/help", chat_id=FLOODER)
                if n == FLOOD // 2:
                    await forge_press(api, "zz", chat_id=FLOODER)  # a button pressed mid-flood
            await api.send_text("which cert for cloud?", chat_id=ASKER)

            await until(lambda: bool(api.sent_messages(ASKER)), within=60, what="an answer while the flood waits")
            assert "cloud" in plain(api.sent_messages(ASKER)[0]).lower()
            assert kinds(api, FLOODER)["help"] <= 1  # the flood's first reply is still held: nothing behind it ran
            await until(lambda: kinds(api, FLOODER)["slow down"] == 1, within=30, what="the flooder to be told")
            await until(lambda: presses_answered(api) == [None], within=30, what="the dropped press to be answered")

            api.release(FLOODER)
            kept = 1 + MAX_WAITING_PER_USER  # the one in hand and those waiting behind it; the rest were dropped
            await until(lambda: kinds(api, FLOODER)["help"] == kept, within=60, what="the kept part of the flood")
            await api.send_text("/help", chat_id=FLOODER)  # once answered, everything before it has been handled
            await until(lambda: kinds(api, FLOODER)["help"] == kept + 1, within=60, what="the follow-up")
            assert kinds(api, FLOODER) == {"help": kept + 1, "slow down": 1, "other": 0}

            api.hold(FLOODER)  # a second burst is a new one: told again, once
            for _ in range(30):
                await api.send_text("/help", chat_id=FLOODER)
            await until(lambda: kinds(api, FLOODER)["slow down"] == 2, within=30, what="the second notice")
            api.release(FLOODER)
            await until(lambda: kinds(api, FLOODER)["help"] == 2 * kept + 1, within=60, what="the second kept part")
            await api.send_text("/help", chat_id=FLOODER)
            await until(lambda: kinds(api, FLOODER)["help"] == 2 * kept + 2, within=60, what="the second follow-up")
            assert kinds(api, FLOODER) == {"help": 2 * kept + 2, "slow down": 2, "other": 0}
            assert presses_answered(api) == [None]
        finally:
            api.release()


async def test_a_flood_beyond_the_per_minute_limit_too_is_asked_once_to_slow_down(
    held_api: HeldChatsBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = held_api
    app = build_application(bot_settings(api, tmp_path, user_messages_per_minute=4), advisor=advisor)
    async with running(app, poll_timeout=1):
        try:
            api.hold(FLOODER)
            for _ in range(30):
                await api.send_text("/help", chat_id=FLOODER)
            await until(lambda: kinds(api, FLOODER)["slow down"] == 1, within=30, what="the flooder to be told")
            api.release(FLOODER)
            await until(lambda: kinds(api, FLOODER)["help"] == 4, within=60, what="the four allowed this minute")
            # queued behind the rest of the kept updates, which the per-minute limit refuses
            await forge_press(api, "zz", chat_id=FLOODER)
            await until(lambda: len(presses_answered(api)) == 1, within=60, what="the press to be answered")
        finally:
            api.release()
    # the limit's own first refusal came in the same burst: it did not ask a second time
    assert kinds(api, FLOODER) == {"help": 4, "slow down": 1, "other": 0}
    assert presses_answered(api) == [None]


def test_a_refusal_is_repeated_only_after_its_period_and_memory_stays_bounded() -> None:
    now = [0.0]
    told = OncePer(3600, remembered=3, clock=lambda: now[0])
    assert told.first(STRANGER) and not told.first(STRANGER)
    now[0] = 3599.0
    assert not told.first(STRANGER)
    now[0] = 3600.0
    assert told.first(STRANGER)  # an hour later: told again
    assert all(told.first(other) for other in (1, 2, 3))  # a fourth stranger pushes out the oldest
    assert told.first(STRANGER)  # forgotten early: told once more, never silently refused for ever


# -- the flood counter remembers nobody -----------------------------------------------------------------


async def rows(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    async with plain_engine(url) as engine, engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql), params)]


async def test_counting_messages_creates_no_user_and_forgetting_removes_the_count(database_url: str) -> None:
    async with await Store.open(database_url) as store:
        assert (await store.message_rate.take(STRANGER, utcnow(), limit=5)).allowed
        assert not await store.users.exists(STRANGER)
        assert await store.users.count() == 0

        await store.users.touch(MEMBER, MEMBER)
        await store.message_rate.take(MEMBER, utcnow(), limit=5)
        await store.users.forget(MEMBER)
    assert await rows(database_url, "SELECT user_id FROM message_rate") == [(STRANGER,)]
    assert await rows(database_url, "SELECT user_id FROM users") == []


def chat_member_update(user_id: int, status: str) -> dict[str, Any]:
    """The update Telegram sends when a user blocks the bot ("kicked") or unblocks it ("member")."""
    user = {"id": user_id, "is_bot": False, "first_name": "Ana"}
    bot = {"id": 7000001, "is_bot": True, "first_name": "Career Advisor"}
    old, new = ("member", "kicked") if status == "kicked" else ("kicked", "member")
    return {
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": "Ana"},
            "from": user,
            "date": 0,
            "old_chat_member": {"user": bot, "status": old} | ({"until_date": 0} if old == "kicked" else {}),
            "new_chat_member": {"user": bot, "status": new} | ({"until_date": 0} if new == "kicked" else {}),
        }
    }


async def test_a_forgotten_user_who_blocks_the_bot_stays_forgotten(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api
    app = build_application(bot_settings(api, tmp_path, database_url=database_url), advisor=advisor)
    async with running(app, poll_timeout=1):
        await api.send_text("which cert for cloud?", chat_id=MEMBER)
        await api.wait_for_messages(1, chat_id=MEMBER)
        await api.send_text("/forget", chat_id=MEMBER)
        await api.wait_for_messages(2, chat_id=MEMBER)
        await api.press_button("f:yes", chat_id=MEMBER)
        [*_, done] = await api.wait_for_messages(3, chat_id=MEMBER)
        assert "deleted" in plain(done)
        assert await rows(database_url, "SELECT user_id FROM users") == []
        assert await rows(database_url, "SELECT user_id FROM message_rate") == []

        await api.push_update(chat_member_update(MEMBER, "kicked"))  # they block the bot ...
        await api.push_update(chat_member_update(MEMBER, "member"))  # ... and come back later
        await api.send_text("/help", chat_id=MEMBER)  # answered after both: they were handled
        await api.wait_for_messages(4, chat_id=MEMBER)
    assert await rows(database_url, "SELECT user_id FROM users") == []
    # only the message was counted: changes of membership are nothing the bot answers
    assert await rows(database_url, "SELECT user_id, messages FROM message_rate") == [(MEMBER, 1)]


# -- strangers and updates from no user -----------------------------------------------------------------


async def test_a_stranger_is_told_once_that_the_bot_is_private(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = bot_api
    app = build_application(bot_settings(api, tmp_path, allowed_user_ids=f"{MEMBER}"), advisor=advisor)
    async with running(app, poll_timeout=1):
        for question in ("hello?", "which cert for cloud?", "/start", "/help"):
            await api.send_text(question, chat_id=STRANGER)
        await forge_press(api, "zz", chat_id=STRANGER)  # handled after the messages: the chat's order
        await until(lambda: len(presses_answered(api)) == 1, within=30, what="the stranger's press to be answered")
        assert presses_answered(api) == [None]  # the spinner stops; the refusal was already given
        assert [plain(m) for m in api.sent_messages(STRANGER)] == [PRIVATE]


def channel_post(message_id: int, **content: Any) -> dict[str, Any]:
    channel = {"id": CHANNEL, "type": "channel", "title": "Careers news"}
    return {"channel_post": {"message_id": message_id, "date": 0, "chat": channel, "sender_chat": channel, **content}}


async def test_posts_in_a_channel_are_not_answered(bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path) -> None:
    api = bot_api
    app = build_application(bot_settings(api, tmp_path), advisor=advisor)
    async with running(app, poll_timeout=1):
        await api.push_update(channel_post(1, text="hi"))
        await api.push_update(channel_post(2, photo=[{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]))
        await api.push_update(
            channel_post(3, text="/help", entities=[{"type": "bot_command", "offset": 0, "length": 5}])
        )
        # a member presses an old button under a post: handled after the posts, which are in the same chat
        query = {
            "id": "press-under-a-post",
            "from": {"id": MEMBER, "is_bot": False, "first_name": "Ana"},
            "chat_instance": "1",
            "data": "zz",
            "message": channel_post(1, text="hi")["channel_post"],
        }
        await api.push_update({"callback_query": query})

        def expired() -> bool:
            return any("expired" in plain(m) for m in api.sent_messages(CHANNEL))

        await until(expired, within=30, what="the press to be answered")
    # the only message in the channel answers the press, which came from a member
    assert [plain(m) for m in api.sent_messages(CHANNEL)] == [EXPIRED]
