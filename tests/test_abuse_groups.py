"""Groups and messages sent as a chat: nothing private is posted in a group, and a chat is nobody's profile.

A user's nudges and broadcasts go to their private chat only, never to a group they wrote in; a user
who has only ever written in groups gets none. Anonymous group admins and "send as channel" posts all
arrive under one shared Telegram user id, so they are not served at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text
from telegram.constants import ChatID

from bench.harness.botapi import BOT_USERNAME, FakeBotApi
from bench.harness.botproc import until
from bench.harness.clock import SettableClock
from bot.advisor import Advisor
from bot.advisor.models import Facets, Intent, Turn
from bot.config import load_settings
from bot.dialog.nudge_choices import NUDGES_NEED_A_PRIVATE_CHAT
from bot.store import Store
from bot.store.engine import create_engine
from bot.store.migrations import alembic_config
from bot.store.tables import broadcast_deliveries, broadcasts, users, utcnow
from bot.telegram.app import build_application
from bot.telegram.context import BotServices
from bot.telegram.lifecycle import running
from tests.conftest import TEST_TOKEN
from tests.support.databases import plain_engine
from tests.test_guard_e2e import plain

ADMIN, PRIVATE_USER, GROUP_USER, MEMBER = 9401, 9402, 9403, 9404
GROUP, CHANNEL = -1009400, -1009401
TUESDAY = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
BEFORE_MONDAYS_NUDGE = dt.datetime(2026, 12, 7, 17, 59, 58, tzinfo=dt.UTC)  # /nudges on: Mondays 18:00 UTC
BROADCAST = "New guides are in"
PRIVATE_CHATS_ONLY = "0007"  # the migration that makes a user's chat their private chat or none


def turn(question: str) -> Turn:
    return Turn(question=question, intent=Intent.RECOMMEND, facets=Facets(), recommendation_ids=[])


async def test_only_a_private_chat_is_recorded_as_the_users_chat(database_url: str) -> None:
    async with await Store.open(database_url) as store:
        assert await store.users.touch(GROUP_USER, GROUP) is True
        assert await store.users.chat_of(GROUP_USER) is None  # known, but with no private chat to write to
        await store.users.touch(GROUP_USER, GROUP_USER)
        assert await store.users.chat_of(GROUP_USER) == GROUP_USER
        await store.users.touch(GROUP_USER, GROUP)  # writing in a group again changes nothing
        assert await store.users.chat_of(GROUP_USER) == GROUP_USER

        await store.turns.add(GROUP, MEMBER, turn("which cert for cloud?"))  # a question asked in a group
        assert await store.users.exists(MEMBER) and await store.users.chat_of(MEMBER) is None

        draft = await store.broadcasts.draft(ADMIN, BROADCAST)
        assert await store.broadcasts.start(draft) == 1  # only the user with a private chat
        assert [(r.user_id, r.chat_id) for r in await store.broadcasts.claim(draft, 10)] == [(GROUP_USER, GROUP_USER)]


async def test_the_migration_clears_groups_recorded_as_users_chats(database_url: str) -> None:
    """A database from before: a user whose chat is a group, and a broadcast copy queued for that group."""
    before = ScriptDirectory.from_config(alembic_config()).get_revision(PRIVATE_CHATS_ONLY)
    assert before is not None and isinstance(before.down_revision, str)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), str(before.down_revision)))
            now = utcnow()
            for user_id, chat_id in ((PRIVATE_USER, PRIVATE_USER), (GROUP_USER, GROUP)):
                await connection.execute(
                    insert(users).values(user_id=user_id, chat_id=chat_id, created_at=now, last_seen_at=now)
                )
            await connection.execute(
                insert(broadcasts).values(
                    id=1, text=BROADCAST, created_by=ADMIN, status="sending", created_at=now, updated_at=now
                )
            )
            for user_id, chat_id in ((PRIVATE_USER, PRIVATE_USER), (GROUP_USER, GROUP)):
                await connection.execute(
                    insert(broadcast_deliveries).values(
                        broadcast_id=1, user_id=user_id, chat_id=chat_id, status="queued", updated_at=now
                    )
                )
    finally:
        await engine.dispose()

    async with await Store.open(database_url) as store:
        assert await store.users.chat_of(PRIVATE_USER) == PRIVATE_USER
        assert await store.users.chat_of(GROUP_USER) is None
        assert [r.user_id for r in await store.broadcasts.claim(1, 10)] == [PRIVATE_USER]  # none into the group
        assert (await store.broadcasts.counts(1))["failed"] == 1
        assert (await store.message_rate.take(MEMBER, utcnow(), limit=5)).allowed  # no user row needed


async def test_a_user_seen_only_in_a_group_gets_no_nudge_or_broadcast_there(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api, clock = bot_api, SettableClock(TUESDAY)
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=api.base_url,
        data_dir=tmp_path,
        admin_user_ids=f"{ADMIN}",
    )
    app = build_application(settings, advisor=advisor, clock=clock)
    async with running(app, poll_timeout=1):
        in_group: dict[str, Any] = {"chat_id": GROUP, "user_id": GROUP_USER, "chat_type": "supergroup"}
        await api.send_text(f"@{BOT_USERNAME} which cert for cloud?", **in_group)
        await api.send_text("/nudges on", **in_group)
        await api.send_text("/nudges on", chat_id=PRIVATE_USER)
        await api.send_text("which cert for cloud?", chat_id=ADMIN)
        _, nudges_reply = await api.wait_for_messages(2, chat_id=GROUP)
        assert NUDGES_NEED_A_PRIVATE_CHAT in plain(nudges_reply)  # "on", but told where nudges can come
        [private_reply] = await api.wait_for_messages(1, chat_id=PRIVATE_USER)
        assert NUDGES_NEED_A_PRIVATE_CHAT not in plain(private_reply)
        await api.wait_for_messages(1, chat_id=ADMIN)
        in_the_group = len(api.sent_messages(GROUP))

        # the weekly nudges come due: the private user's is sent, the group user has none at all
        clock.set(BEFORE_MONDAYS_NUDGE)
        services: BotServices = app.bot_data
        assert services.scheduler is not None
        startup = await services.scheduler.rebuild()
        assert [(due.user_id, due.chat_id) for due in startup.upcoming] == [(PRIVATE_USER, PRIVATE_USER)]
        await api.wait_for_messages(2, chat_id=PRIVATE_USER)

        # a broadcast reaches the users who have a private chat with the bot, and no group
        await api.send_text(f"/broadcast {BROADCAST}", chat_id=ADMIN)
        [*_, preview] = await api.wait_for_messages(3, chat_id=ADMIN)
        send, _ = api.buttons(preview)
        await api.press_button(send, chat_id=ADMIN)

        def report() -> list[str]:
            return [plain(m) for m in api.sent_messages(ADMIN) if "is done:" in plain(m)]

        await until(lambda: bool(report()), within=60, what="the broadcast's report")
        assert "sent to 2, failed for 0" in report()[0], report()
        assert [plain(m) for m in api.sent_messages(PRIVATE_USER)][-1] == BROADCAST
    assert len(api.sent_messages(GROUP)) == in_the_group  # neither the nudge nor the broadcast went there
    assert api.sent_messages(GROUP_USER) == []  # nor to a private chat the user never opened


def sent_as_chat(sender: int, sender_chat: dict[str, Any], message_id: int, text_: str) -> dict[str, Any]:
    """A group message that Telegram shows as written by a chat (an anonymous admin, or a channel)."""
    entities = [{"type": "bot_command", "offset": 0, "length": len(text_.split()[0])}] if text_[0] == "/" else []
    return {
        "message": {
            "message_id": message_id,
            "date": 0,
            "chat": {"id": GROUP, "type": "supergroup", "title": "Study group"},
            "from": {"id": sender, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"},
            "sender_chat": sender_chat,
            "text": text_,
            "entities": entities,
        }
    }


async def test_messages_sent_as_a_chat_are_not_served_and_create_no_user(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path
) -> None:
    api = bot_api
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=api.base_url, data_dir=tmp_path
    )
    group = {"id": GROUP, "type": "supergroup", "title": "Study group"}
    channel = {"id": CHANNEL, "type": "channel", "title": "Careers news"}
    async with running(build_application(settings, advisor=advisor), poll_timeout=1):
        await api.push_update(sent_as_chat(ChatID.ANONYMOUS_ADMIN, group, 1, "/start"))
        await api.push_update(sent_as_chat(ChatID.ANONYMOUS_ADMIN, group, 2, f"@{BOT_USERNAME} which cert for cloud?"))
        await api.push_update(sent_as_chat(ChatID.FAKE_CHANNEL, channel, 3, f"@{BOT_USERNAME} which cert for cloud?"))
        await api.push_update(sent_as_chat(ChatID.FAKE_CHANNEL, channel, 4, "/forget"))
        # a member writing as themselves afterwards is answered, after the others (same chat, in order)
        await api.send_text(
            f"@{BOT_USERNAME} which cert for cloud?", chat_id=GROUP, user_id=MEMBER, chat_type="supergroup"
        )
        [answer] = await api.wait_for_messages(1, chat_id=GROUP)
        assert "cloud" in plain(answer).lower()
    assert len(api.sent_messages(GROUP)) == 1
    url = f"sqlite+aiosqlite:///{(tmp_path / 'bot.sqlite3').as_posix()}"
    async with plain_engine(url) as engine, engine.connect() as connection:
        users = (await connection.execute(text("SELECT user_id FROM users"))).scalars().all()
        counted = (await connection.execute(text("SELECT user_id FROM message_rate"))).scalars().all()
    assert users == [MEMBER] and counted == [MEMBER]
