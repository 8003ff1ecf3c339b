"""End to end over HTTP: onboarding, plan, progress, compare, follow-ups and /forget, across restarts.

The real Application talks to the local Bot API server; the database, a real SQLite file or a real
PostgreSQL database, outlives each bot process, as it would on a server that restarts.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, func, select
from telegram.ext import Application

from bench.harness.botapi import FakeBotApi
from bot.advisor import Advisor
from bot.config import Settings, load_settings
from bot.telegram.app import COMMANDS, build_application
from bot.telegram.lifecycle import running
from tests.conftest import TEST_TOKEN
from tests.support.databases import plain_engine

CHAT = 4001
OTHER_CHAT = 4002


def plain(message: dict[str, Any]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(message["text"])))


class Conversation:
    """What one user sees: send or press, then read the bot's new messages."""

    def __init__(self, api: FakeBotApi, chat_id: int) -> None:
        self.api = api
        self.chat_id = chat_id
        self.seen = len(api.sent_messages(chat_id))

    async def _new(self, count: int) -> list[dict[str, Any]]:
        messages = await self.api.wait_for_messages(self.seen + count, chat_id=self.chat_id, within=120)
        new = messages[self.seen : self.seen + count]
        self.seen += count
        return new

    async def say(self, text: str, expect: int = 1) -> list[dict[str, Any]]:
        await self.api.send_text(text, chat_id=self.chat_id)
        return await self._new(expect)

    async def press(self, data: str, expect: int = 1) -> list[dict[str, Any]]:
        await self.api.press_button(data, chat_id=self.chat_id)
        return await self._new(expect)


def settings_for(api: FakeBotApi, data_dir: Path, database_url: str) -> Settings:
    # one person's whole journey in under a minute: above the flood limit, which is tested elsewhere
    return load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=api.base_url,
        data_dir=data_dir,
        database_url=database_url,
        user_messages_per_minute=200,
    )


@asynccontextmanager
async def bot_process(
    api: FakeBotApi, advisor: Advisor, data_dir: Path, database_url: str
) -> AsyncIterator[Application]:
    """One run of the bot; leaving the block stops it like a process shutting down."""
    app = build_application(settings_for(api, data_dir, database_url), advisor=advisor)
    async with running(app, poll_timeout=1):
        yield app


async def rows_about(database_url: str, user_id: int) -> dict[str, int]:
    """How many rows of each table belong to the user (plan steps through their plan), whatever the tables are."""

    def count(connection: Connection) -> dict[str, int]:
        tables = MetaData()
        tables.reflect(connection)  # every table there is, so a table added later is checked too
        counts: dict[str, int] = {}
        for table in tables.sorted_tables:
            if "user_id" in table.c:
                counts[table.name] = connection.scalar(
                    select(func.count()).select_from(table).where(table.c.user_id == user_id)
                )
        if "plan_steps" in tables.tables:
            steps, plans = tables.tables["plan_steps"], tables.tables["learning_plans"]
            their_plans = select(plans.c.id).where(plans.c.user_id == user_id)
            counts["plan_steps"] = connection.scalar(
                select(func.count()).select_from(steps).where(steps.c.plan_id.in_(their_plans))
            )
        return counts

    async with plain_engine(database_url) as engine, engine.connect() as connection:
        return await connection.run_sync(count)


async def conversation_keys(database_url: str) -> list[str]:
    async with plain_engine(database_url) as engine, engine.connect() as connection:
        states = MetaData()
        await connection.run_sync(lambda sync: states.reflect(sync, only=["conversation_states"]))
        table = states.tables["conversation_states"]
        return list((await connection.scalars(select(table.c.key))).all())


async def test_a_newcomer_onboards_plans_tracks_progress_and_is_forgotten_across_restarts(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api

    async with bot_process(api, advisor, tmp_path, database_url):
        me = Conversation(api, CHAT)
        intro, role_question = await me.say("/start", expect=2)
        assert "few quick questions" in plain(intro) and "career advisor" in plain(intro)
        assert "(1/8)" in plain(role_question) and "b:ask:role:-" in api.buttons(role_question)

        [target_question] = await me.say("marketing coordinator")
        assert "(2/8)" in plain(target_question)
        [level_question] = await me.press("b:ask:target:data-analyst")
        assert "experience" in plain(level_question)
        [retry] = await me.say("no idea what to say")
        assert "beginner, intermediate or advanced" in plain(retry) and "(3/8)" in plain(retry)
        [_hours_question] = await me.press("b:ask:level:beginner")
        [retry] = await me.say("-5")
        assert "between 1 and 80" in plain(retry)
        [retry] = await me.say("500 hours")
        assert "between 1 and 80" in plain(retry)
        [budget_question] = await me.say("6")
        assert "US dollars" in plain(budget_question)
        [retry] = await me.say("lots")
        assert "amount in US dollars" in plain(retry)
        [_providers_question] = await me.press("b:ask:budget:500")
        [timezone_question] = await me.press("b:ask:providers:-")
        assert "time zone" in plain(timezone_question)
        [nudges_question] = await me.say("Berlin")
        assert "weekly nudge" in plain(nudges_question)
        # An old button of an answered question does nothing harmful.
        [stale] = await me.press("b:ask:level:advanced")
        assert "already been answered" in plain(stale)

    # The bot restarts while the last question is open: the questionnaire continues where it was.
    async with bot_process(api, advisor, tmp_path, database_url):
        me = Conversation(api, CHAT)
        saved, advice = await me.say("yes please", expect=2)
        assert "profile is saved" in plain(saved)
        assert "Data Analyst" in plain(advice) and "Sources" in plain(advice)

        [profile] = await me.say("/profile")
        text = plain(profile)
        for fact in (
            "marketing coordinator",
            "Data Analyst",
            "beginner",
            "Hours a week: 6",
            "up to $500",
            "Europe/Berlin",
        ):
            assert fact in text, fact
        assert "Weekly nudges: on" in text

        [plan] = await me.say("/plan")
        assert "Your plan toward Data Analyst at 6 hours a week" in plain(plan)
        first_step = next(b for b in api.buttons(plan) if b.endswith(":completed"))
        congratulations, progress = await me.press(first_step, expect=2)
        assert "Congratulations" in plain(congratulations)
        assert re.search(r"Progress toward Data Analyst: \d+% \(1 of \d+ steps done\)", plain(progress))

        [comparison] = await me.say("/compare AZ-104 vs SAA")
        assert "Side by side" in plain(comparison) and "Azure Administrator" in plain(comparison)

        [cloud] = await me.say("which cert for cloud?")
        assert "cloud" in plain(cloud).lower()

    # After another restart: the follow-up leans on the turn before the restart, and the rest is still there.
    async with bot_process(api, advisor, tmp_path, database_url):
        me = Conversation(api, CHAT)
        [cheaper] = await me.say("what about cheaper ones?")
        assert "150 USD" in plain(cheaper) and "cloud" in plain(cheaper).lower()

        [progress] = await me.say("/progress")
        assert "(1 of" in plain(progress)
        [welcome, plan] = await me.say("/start", expect=2)
        assert "Welcome back" in plain(welcome) and "Your plan toward Data Analyst" in plain(plan)

        # A second user's data must survive the first user's /forget.
        other = Conversation(api, OTHER_CHAT)
        await other.say("/start", expect=2)
        await other.say("student")

        [confirm] = await me.say("/forget")
        assert api.buttons(confirm) == ["f:yes", "f:no"]
        [done] = await me.press("f:yes")
        assert "deleted" in plain(done)

    remaining = await rows_about(database_url, CHAT)
    assert remaining and all(count == 0 for count in remaining.values()), remaining
    assert (await rows_about(database_url, OTHER_CHAT))["profiles"] == 1
    keys = await conversation_keys(database_url)
    assert keys and all(str(CHAT) not in key for key in keys)  # the other user's questionnaire is still open


async def test_commands_are_registered_and_bad_input_gets_a_clear_answer(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api
    async with bot_process(api, advisor, tmp_path, database_url):
        me = Conversation(api, 5001)
        [plan] = await me.say("/plan")
        assert "target" in plain(plan).lower() and "b:edit:target" in api.buttons(plan)
        [progress] = await me.say("/progress")
        assert "no plan yet" in plain(progress)
        sorry, help_text = await me.say("/fly", expect=2)
        assert "I don't know /fly" in plain(sorry) and "/forget" in plain(help_text)
        [compare] = await me.say("/compare")
        assert "what to compare" in plain(compare)
        [too_long] = await me.say("cloud " * 500)
        assert "too long" in plain(too_long)
        [question] = await me.press("b:edit:target")
        assert "role or field" in plain(question)
        [retry] = await me.say("astronaut")
        assert "don't have that role" in plain(retry)
        saved, profile = await me.say("cybersecurity", expect=2)
        assert "Saved" in plain(saved) and "Target: cybersecurity" in plain(profile)
    registered = next(c.params for c in api.calls if c.method == "setMyCommands")["commands"]
    assert [c["command"] for c in registered] == [c.command for c in COMMANDS]
    assert {"start", "plan", "progress", "profile", "compare", "forget", "help"} <= {c.command for c in COMMANDS}
