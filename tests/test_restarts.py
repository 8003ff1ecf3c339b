"""`kill -9` of the real bot process mid-questionnaire, mid-plan-change and mid-nudge, then a restart.

Each kill lands at a moment the test chooses: the local Bot API server carries out a request at once
but holds its answer back (`FakeBotApi.delay_next`), so the bot is stuck inside that very call when
SIGKILL arrives. What a user was told before the kill must still hold after the restart, the
database must be whole (read with plain SQL, not through the store), and no nudge may reach a user
twice. The timeline runs on a SQLite file and on a PostgreSQL database.

A start loads the embedding model, so one timeline of four processes serves three users at once:
a newcomer in the questionnaire, a user changing their plan, and two users with weekly nudges.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness.botapi import Call, FakeBotApi
from bench.harness.botproc import Chat, bot_process, held_calls, plain, until
from bot.advisor.models import Profile
from bot.dialog.nudge_views import DAY_NAMES
from bot.planner.builder import build_plan
from bot.planner.models import StepStatus
from bot.store import Store
from bot.store.nudges import NudgeSettings
from ingest.schema import Level
from tests.conftest import REAL_KNOWLEDGE
from tests.support.catalogs import catalog_of
from tests.support.databases import plain_engine

NEWCOMER = 8101  # answers the questionnaire across three kills
PLANNER = 8201  # has a plan with a step done, and asks for a new plan twice
NUDGED_IN_FLIGHT = 8301  # due when the bot first starts: the kill catches the nudge on its way
NUDGED_LATER = 8302  # picks a time just ahead; the bot is killed before it, and the restart sends it once
BERLIN, KOLKATA = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
# Longer than a kill takes to land, shorter than the bot waits for an answer before giving up on it.
HOLD_SECONDS = 15.0
CHECKIN = "weekly learning check-in"


# -- what the database holds, read with plain SQL as an operator would -----------------------------


@dataclass(frozen=True)
class StoredPlan:
    made_at: str  # tells plans apart: SQLite hands a deleted plan's id to the next plan
    steps: list[tuple[int, str, str]]  # position, credential id, credential name


class Tables:
    """The bot's tables as they are on disk, seen from outside the bot and its store."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def rows(self, sql: str, **params: object) -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(text(sql), params)).mappings()]

    async def plan(self, user_id: int) -> StoredPlan:
        """The user's plan; fails unless the tables hold exactly one plan, all its steps, and no stray step."""
        plans = await self.rows("SELECT id, created_at FROM learning_plans WHERE user_id = :user_id", user_id=user_id)
        assert len(plans) == 1, plans
        [plan] = plans
        orphans = await self.rows(
            "SELECT COUNT(*) AS n FROM plan_steps WHERE plan_id NOT IN (SELECT id FROM learning_plans)"
        )
        assert orphans == [{"n": 0}], orphans
        steps = await self.rows(
            "SELECT position, credential_id, credential_name FROM plan_steps WHERE plan_id = :plan_id"
            " ORDER BY position",
            plan_id=plan["id"],
        )
        assert steps and [step["position"] for step in steps] == list(range(1, len(steps) + 1)), steps
        return StoredPlan(
            str(plan["created_at"]), [(s["position"], s["credential_id"], s["credential_name"]) for s in steps]
        )

    async def progress(self, user_id: int) -> dict[str, str]:
        rows = await self.rows("SELECT credential_id, status FROM progress WHERE user_id = :user_id", user_id=user_id)
        return {row["credential_id"]: row["status"] for row in rows}

    async def ledger(self, user_id: int) -> list[dict[str, Any]]:
        return await self.rows("SELECT * FROM nudge_ledger WHERE user_id = :user_id ORDER BY week", user_id=user_id)

    async def open_questionnaires(self, user_id: int) -> list[str]:
        rows = await self.rows("SELECT state FROM conversation_states WHERE user_id = :user_id", user_id=user_id)
        return [str(row["state"]) for row in rows]


@pytest.fixture
async def stored(database_url: str) -> AsyncIterator[Tables]:
    """The test's database, read from outside the bot processes the test starts on it."""
    async with plain_engine(database_url) as engine:
        yield Tables(engine)


# -- what reached the server --------------------------------------------------------------------------

_STEP_LINE = re.compile(r"^\[(.)\] (\d+)\. (.+) \(weeks? \d+(?:-\d+)?, ~", re.M)


def plan_lines(message: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(status mark, position, credential name) of each step a plan message shows."""
    return [(mark, int(position), name) for mark, position, name in _STEP_LINE.findall(plain(message))]


def sends_to(api: FakeBotApi, chat_id: int) -> list[Call]:
    """Every sendMessage for the chat that reached the server, whatever became of its answer."""
    return [c for c in api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id]


def nudges_to(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    return [c.params for c in sends_to(api, chat_id) if CHECKIN in str(c.params["text"])]


# -- setting the scene and choosing where a kill lands ------------------------------------------------


async def seed(database_url: str, now: dt.datetime) -> str:
    """The planner's plan with its first step done, and the two nudged users; returns the done credential."""
    catalog = catalog_of(REAL_KNOWLEDGE)
    profile = Profile(current_role="teacher", target_role="Data Analyst", level=Level.BEGINNER, hours_per_week=5)
    plan = build_plan(catalog, profile, now.date() - dt.timedelta(days=30))
    done = plan.steps[0].credential_id
    an_hour_ago = (now - dt.timedelta(hours=1)).astimezone(BERLIN)  # late, but well inside the day it may be
    in_flight = NudgeSettings(
        enabled=True,
        weekday=an_hour_ago.weekday(),
        local_time=an_hour_ago.time().replace(second=0, microsecond=0),
        timezone="Europe/Berlin",
        enabled_at=now - dt.timedelta(days=2),
    )
    async with await Store.open(database_url) as store:
        await store.users.touch(PLANNER, PLANNER)
        await store.profiles.save(PLANNER, profile)
        await store.profiles.mark_onboarded(PLANNER)
        await store.plans.replace(PLANNER, plan)
        await store.progress.set(PLANNER, done, StepStatus.COMPLETED)
        await store.users.touch(NUDGED_IN_FLIGHT, NUDGED_IN_FLIGHT)
        await store.nudges.save(NUDGED_IN_FLIGHT, in_flight)
        await store.users.touch(NUDGED_LATER, NUDGED_LATER)
        await store.nudges.save(NUDGED_LATER, NudgeSettings(enabled=False, timezone="Asia/Kolkata"))
    return done


async def reply_held(me: Chat, answer: str, *, button: bool = False) -> dict[str, Any]:
    """Answer; the bot's reply reaches the server, which holds back its answer so the bot stays inside the send.

    The hold takes the next sendMessage of any chat, so no other reply may be on its way meanwhile.
    """
    before = len(me.messages)
    me.api.delay_next("sendMessage", HOLD_SECONDS)
    if button:
        await me.api.press_button(answer, chat_id=me.chat_id)
    else:
        await me.api.send_text(answer, chat_id=me.chat_id)
    return (await me.api.wait_for_messages(before + 1, chat_id=me.chat_id))[before]


async def let_a_due_nudge_finish(stored: Tables, user_id: int, due: dt.datetime) -> None:
    """A nudge due about now is let finish before holds are set and the bot is killed: this kill aims elsewhere."""
    if dt.datetime.now(dt.UTC) < due - dt.timedelta(seconds=10):
        return
    await until_sent(stored, user_id, within=(due - dt.datetime.now(dt.UTC)).total_seconds() + 60)


async def until_sent(stored: Tables, user_id: int, *, within: float) -> None:
    """Until the ledger holds the user's one nudge as sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while [entry["status"] for entry in await stored.ledger(user_id)] != ["sent"]:
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for the nudge to {user_id} to be recorded as sent")
        await asyncio.sleep(0.05)


async def test_kill_9_mid_questionnaire_mid_plan_change_and_mid_nudge_loses_nothing_confirmed_and_sends_once(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path, database_url: str, stored: Tables
) -> None:
    api = bot_api
    me, planner, later = Chat(api, NEWCOMER), Chat(api, PLANNER), Chat(api, NUDGED_LATER)
    done = await seed(database_url, dt.datetime.now(dt.UTC))
    old_plan, progress = await stored.plan(PLANNER), await stored.progress(PLANNER)
    assert progress == {done: "completed"}

    # -- run 1: killed with a nudge on its way, a plan change just confirmed and the first answer confirmed
    api.delay_next("sendMessage", HOLD_SECONDS)  # taken by the first message the bot sends: the due nudge
    async with bot_process(api, tmp_path, real_index, database_url) as bot:
        await until(lambda: bool(nudges_to(api, NUDGED_IN_FLIGHT)), within=60, what="the due nudge")
        due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=70)).replace(second=0, microsecond=0)
        local = due.astimezone(KOLKATA)
        [saved] = await later.say(f"/nudges {DAY_NAMES[local.weekday()]} {local:%H:%M}")
        assert f"Next one: {local:%A %d %B, %H:%M}" in plain(saved), plain(saved)

        _intro, role_question = await me.say("/start", expect=2)
        assert "(1/8)" in plain(role_question)

        [question] = await planner.say("/plan new")
        assert "n:yes" in api.buttons(question)
        api.delay_next("answerCallbackQuery", HOLD_SECONDS)
        await api.press_button("n:yes", chat_id=PLANNER)
        await until(lambda: bool(held_calls(api, "answerCallbackQuery")), within=60, what="the button press")

        assert "(2/8)" in plain(await reply_held(me, "marketing coordinator"))
        assert [c.answer for c in sends_to(api, NUDGED_IN_FLIGHT)] == ["pending"]  # still on its way
        assert nudges_to(api, NUDGED_LATER) == []  # not due yet
        await bot.kill()

    [claimed] = await stored.ledger(NUDGED_IN_FLIGHT)
    assert claimed["status"] == "pending" and claimed["owner"] and claimed["sent_at"] is None, claimed
    assert await stored.ledger(NUDGED_LATER) == []
    plan_after_first_kill = await stored.plan(PLANNER)  # whole, old or new: nothing was promised yet
    if plan_after_first_kill.made_at == old_plan.made_at:
        assert plan_after_first_kill == old_plan
    assert await stored.progress(PLANNER) == progress

    # -- run 2: the questionnaire resumes; killed with a new plan and a button answer confirmed
    async with bot_process(api, tmp_path, real_index, database_url) as bot:
        [profile] = await me.say("/profile")
        assert "Current role: marketing coordinator" in plain(profile) and "Target: not set" in plain(profile)
        [resumed] = await me.say("/start")
        assert "pick up where we left off" in plain(resumed) and "(2/8)" in plain(resumed)
        [level_question] = await me.press("b:ask:target:data-analyst")
        assert "(3/8)" in plain(level_question)
        [hours_question] = await me.say("intermediate")
        assert "(4/8)" in plain(hours_question)

        [shown] = await planner.say("/plan")
        assert [(p, n) for _, p, n in plan_lines(shown)] == [(p, n) for p, _, n in plan_after_first_kill.steps]
        done_name = next((n for _, c, n in plan_after_first_kill.steps if c == done), None)
        assert done_name is None or ("x", 1, done_name) in plan_lines(shown)  # progress is kept per credential
        await planner.say("/plan new")

        await let_a_due_nudge_finish(stored, NUDGED_LATER, due)
        new_plan_message = await reply_held(planner, "n:yes", button=True)
        assert "Here is your new plan" in plain(new_plan_message)
        assert "(5/8)" in plain(await reply_held(me, "b:ask:hours:10", button=True))
        await bot.kill()

    new_plan = await stored.plan(PLANNER)  # the plan the user was shown, whole
    assert new_plan.made_at != old_plan.made_at
    assert [(p, n) for _, p, n in plan_lines(new_plan_message)] == [(p, n) for p, _, n in new_plan.steps]
    assert await stored.progress(PLANNER) == progress

    # -- run 3: the questionnaire resumes again; killed right after the last answer was confirmed
    async with bot_process(api, tmp_path, real_index, database_url) as bot:
        [profile] = await me.say("/profile")
        for fact in ("marketing coordinator", "Target: Data Analyst", "Experience: intermediate", "Hours a week: 10"):
            assert fact in plain(profile), fact
        [resumed] = await me.say("/start")
        assert "(5/8)" in plain(resumed)
        [providers_question] = await me.press("b:ask:budget:500")
        assert "(6/8)" in plain(providers_question)
        [timezone_question] = await me.say("AWS and Google")
        assert "(7/8)" in plain(timezone_question)
        [nudges_question] = await me.say("Berlin")
        assert "(8/8)" in plain(nudges_question)

        [shown] = await planner.say("/plan")
        assert plan_lines(shown) == plan_lines(new_plan_message)

        await let_a_due_nudge_finish(stored, NUDGED_LATER, due)
        # "saved" is sent once the questionnaire is closed, and the kill lands before the first advice
        assert "profile is saved" in plain(await reply_held(me, "yes please"))
        await bot.kill()
    assert await stored.open_questionnaires(NEWCOMER) == []

    # -- run 4: every confirmed answer is there; the nudge scheduled by run 1 has come, once
    async with bot_process(api, tmp_path, real_index, database_url):
        [profile] = await me.say("/profile")
        text = plain(profile)
        for fact in (
            "Current role: marketing coordinator",
            "Target: Data Analyst",
            "Experience: intermediate",
            "Hours a week: 10",
            "Budget: up to $500",
            "Time zone: Europe/Berlin",
            "Weekly nudges: on",
        ):
            assert fact in text, fact
        providers = re.search(r"Preferred providers: (.*)", text)
        assert providers is not None and {"AWS", "Google"} <= set(providers.group(1).split(", ")), text
        welcome, no_plan_yet = await me.say("/start", expect=2)  # welcomed back, not asked again
        assert "Welcome back" in plain(welcome) and "/plan" in plain(no_plan_yet)
        assert not re.search(r"\(\d/8\)", plain(welcome) + plain(no_plan_yet))

        wait = max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds()) + 60
        await until_sent(stored, NUDGED_LATER, within=wait)
        await asyncio.sleep(1.5)  # a nudge sent twice would follow at once

    assert len(nudges_to(api, NUDGED_LATER)) == 1
    assert len(sends_to(api, NUDGED_IN_FLIGHT)) == 1  # the nudge killed on its way never went out again
    # the ledger tells why: claimed by the killed process and never confirmed; the other sent after a restart
    assert await stored.ledger(NUDGED_IN_FLIGHT) == [claimed]
    [sent] = await stored.ledger(NUDGED_LATER)
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["owner"] != claimed["owner"], sent
