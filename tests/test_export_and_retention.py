"""Users control their data: /export hands over every row about them, and old data is pruned every day.

The store runs on a real SQLite file and a real PostgreSQL database; the bot runs over HTTP against the
local Bot API server; time is injected (`now`, a settable clock), never waited for.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, inspect, text, update
from telegram.ext import Application

from bench.harness.botapi import BOT_USERNAME, FakeBotApi
from bench.harness.botproc import Chat, plain, until
from bench.harness.clock import SettableClock
from bot.advisor import Advisor
from bot.advisor.models import Profile
from bot.config import SettingsError, load_settings
from bot.dialog.assistant import Assistant
from bot.prompts import Texts
from bot.store import Store
from bot.store.export import SECTIONS, UnmappedTable
from bot.store.retention import Pruned, RetentionPolicy
from bot.store.tables import (
    broadcast_deliveries,
    broadcasts,
    conversation_states,
    conversation_turns,
    message_rate,
    metadata,
    users,
    utcnow,
)
from bot.telegram.app import COMMANDS, build_application
from bot.telegram.context import BotServices
from bot.telegram.lifecycle import running
from bot.terminal import LOCAL_USER, TerminalChat
from tests.conftest import ROOT, TEST_TOKEN
from tests.test_store import fill, make_turn

ALICE, BOB, CAROL = 1001, 2002, 3003
GROUP = -4004
DAY = dt.timedelta(days=1)
WITHIN = 60.0


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with await Store.open(database_url) as opened:
        yield opened


def count_rows_about(connection: Connection, user_id: int) -> dict[str, int]:
    """Rows about the user in every table the database has, found by looking at the database itself."""
    inspector = inspect(connection)
    plans = connection.execute(text("SELECT id FROM learning_plans WHERE user_id = :u"), {"u": user_id})
    plan_ids = ", ".join(str(plan_id) for plan_id in plans.scalars()) or "-1"
    counts: dict[str, int] = {}
    for table in inspector.get_table_names():
        columns = {column["name"] for column in inspector.get_columns(table)}
        if "user_id" in columns:
            sql = f"SELECT count(*) FROM {table} WHERE user_id = :u"
        elif "created_by" in columns:
            sql = f"SELECT count(*) FROM {table} WHERE created_by = :u"
        elif "plan_id" in columns:
            sql = f"SELECT count(*) FROM {table} WHERE plan_id IN ({plan_ids})"
        else:
            continue
        counts[table] = connection.execute(text(sql), {"u": user_id}).scalar_one()
    return counts


async def rows_about(store: Store, user_id: int) -> dict[str, int]:
    async with store.engine.connect() as connection:
        return await connection.run_sync(count_rows_about, user_id)


def section_rows(section: object) -> list[dict[str, Any]]:
    """An export section as a list of rows (a one-row section is an object, or null when empty)."""
    if section is None:
        return []
    if isinstance(section, list):
        return section
    assert isinstance(section, dict)
    return [section]


# --- the store: what an export holds ----------------------------------------------------------------------------


async def test_the_export_holds_every_row_about_the_user_and_nothing_about_others(store: Store) -> None:
    await fill(store, ALICE)
    await fill(store, BOB)
    in_database = await rows_about(store, ALICE)
    assert all(in_database.values()), in_database  # every kind of row exists, so every section is exercised

    data = await store.export.gather(ALICE)

    # each table with rows about Alice is a section that holds exactly those rows
    for table, count in in_database.items():
        assert len(section_rows(data[SECTIONS[table].key])) == count, table
    assert data["profile"]["current_role"] == "teacher" and data["profile"]["user_id"] == ALICE
    assert [step["credential_id"] for step in data["plan_steps"]] == ["aws-cloud-practitioner", "cka"]
    progress = {row["credential_id"]: row["status"] for row in data["progress"]}
    assert progress == {"aws-cloud-practitioner": "completed", "comptia-a-plus": "completed", "cka": "started"}
    assert [turn["question"] for turn in data["conversation_turns"]] == ["hello"]
    assert data["nudge_settings"]["enabled"] is True
    assert [entry["week"] for entry in data["nudge_history"]] == ["2026-W49"]
    assert [written["text"] for written in data["broadcasts_written"]] == ["New guides this week"]
    assert isinstance(data["account"]["created_at"], dt.datetime)
    # Bob's rows are not there, whichever column would name him
    for section in data.values():
        for row in section_rows(section):
            assert BOB not in (row.get("user_id"), row.get("created_by"), row.get("chat_id")), row


async def test_a_table_neither_exported_nor_excluded_stops_the_export(store: Store) -> None:
    tables = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(tables)
    Table("study_notes", tables, Column("user_id", Integer), Column("note", Text))

    with pytest.raises(UnmappedTable, match="study_notes"):
        await store.export.gather(ALICE, tables)


# --- the store: retention -------------------------------------------------------------------------------------


async def backdate(store: Store, table: Table, column: str, to: dt.datetime, **where: object) -> None:
    """Move rows back in time, as an operator's SQL would; the repositories stamp rows with the real time."""
    async with store.engine.begin() as connection:
        conditions = [table.c[name] == value for name, value in where.items()]
        await connection.execute(update(table).where(*conditions).values({column: to}))


async def test_prune_deletes_what_outlived_its_window_and_forgets_inactive_users(store: Store) -> None:
    now = utcnow()
    for user_id in (CAROL, ALICE, BOB):  # broadcasts 1, 2 and 3, each to every user known at the time
        await fill(store, user_id)
    # Carol has not been seen for 800 days: she is forgotten entirely
    await backdate(store, users, "last_seen_at", now - 800 * DAY, user_id=CAROL)
    # Alice: a turn 100 days old and a new one; a nudge week, a model-use day and a questionnaire from long ago
    await backdate(store, conversation_turns, "created_at", now - 100 * DAY, user_id=ALICE)
    await store.turns.add(ALICE, ALICE, make_turn("recent"))
    await store.ledger.claim(ALICE, "2025-W30", now - 500 * DAY, "test")
    await store.llm_usage.take(ALICE, (now - 500 * DAY).date(), cap=5)
    await backdate(store, conversation_states, "updated_at", now - 40 * DAY, user_id=ALICE)
    # Bob's broadcast (3) went out 500 days ago; Alice's (2) is still going out, with a queue just as old
    for user_id in (CAROL, ALICE, BOB):
        await store.broadcasts.delivered(3, user_id)
    assert await store.broadcasts.finish(3)
    await backdate(store, broadcasts, "updated_at", now - 500 * DAY, id=3)
    await backdate(store, broadcast_deliveries, "updated_at", now - 500 * DAY, broadcast_id=3)
    await backdate(store, broadcast_deliveries, "updated_at", now - 500 * DAY, broadcast_id=2)
    # an update id from three days ago, and a message window of Bob's from yesterday
    await store.updates.first_time(1, now - 3 * DAY)
    await store.updates.first_time(2, now)
    await backdate(store, message_rate, "window_start", now - DAY, user_id=BOB)

    kept_forever = await store.retention.prune(
        now, RetentionPolicy(turns_days=0, ledger_days=0, inactive_user_days=0, questionnaire_days=0)
    )
    assert (kept_forever.turns, kept_forever.nudge_ledger, kept_forever.llm_usage) == (0, 0, 0)
    assert (kept_forever.broadcast_deliveries, kept_forever.broadcasts, kept_forever.questionnaires) == (0, 0, 0)
    assert kept_forever.forgotten_users == ()

    pruned = await store.retention.prune(now, RetentionPolicy())

    assert pruned == Pruned(
        turns=1,
        nudge_ledger=1,
        llm_usage=1,
        broadcast_deliveries=2,  # Alice's and Bob's copies of broadcast 3; Carol's went with Carol
        broadcasts=1,
        processed_updates=0,  # the three-day-old id went in the first run: that window is fixed
        message_rate=0,  # so is this one
        questionnaires=1,
        forgotten_users=(CAROL,),
    )
    assert (kept_forever.processed_updates, kept_forever.message_rate) == (1, 1)
    assert set((await rows_about(store, CAROL)).values()) == {0}
    assert not await store.users.exists(CAROL)
    assert [turn.question for turn in await store.turns.recent(ALICE)] == ["recent"]
    assert [turn.question for turn in await store.turns.recent(BOB)] == ["hello"]
    assert [entry.week for entry in await store.ledger.history(ALICE)] == ["2026-W49"]
    assert await store.conversations.load("onboarding") == {(BOB, BOB): 1}
    assert await store.broadcasts.get(3) is None
    assert (await store.broadcasts.counts(2))["queued"] == 1  # Alice's copy still waits to be sent
    assert await store.profiles.get(ALICE) is not None and await store.plans.active(BOB) is not None

    # a second replica running the same job a moment later finds nothing left to do
    assert await store.retention.prune(now, RetentionPolicy()) == Pruned()


async def test_a_user_who_only_presses_buttons_is_not_inactive(store: Store) -> None:
    now = utcnow()
    await fill(store, CAROL)
    await backdate(store, users, "last_seen_at", now - 800 * DAY, user_id=CAROL)

    # every update, a button press included, passes the per-user message count first
    await store.message_rate.take(CAROL, now, limit=20)

    assert (await store.retention.prune(now, RetentionPolicy())).forgotten_users == ()
    assert await store.profiles.get(CAROL) is not None


# --- settings ----------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_env")
def test_retention_settings_have_defaults_and_refuse_unsafe_values(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(_env_file=None)
    policy = (
        settings.retention_turns_days,
        settings.retention_ledger_days,
        settings.retention_inactive_user_days,
        settings.retention_questionnaire_days,
    )
    assert policy == (90, 400, 730, 30)
    monkeypatch.setenv("RETENTION_INACTIVE_USER_DAYS", "0")  # never
    assert load_settings(_env_file=None).retention_inactive_user_days == 0
    # a ledger kept for less than two weeks could not keep a weekly nudge to once a week
    monkeypatch.setenv("RETENTION_LEDGER_DAYS", "7")
    with pytest.raises(SettingsError, match="RETENTION_LEDGER_DAYS"):
        load_settings(_env_file=None)
    example = (ROOT / ".env.example").read_text()
    for name in ("RETENTION_TURNS_DAYS", "RETENTION_LEDGER_DAYS", "RETENTION_INACTIVE_USER_DAYS"):
        assert f"\n{name}=" in example, name
    assert "\nRETENTION_QUESTIONNAIRE_DAYS=" in example


# --- Telegram, end to end ------------------------------------------------------------------------------------------


@asynccontextmanager
async def telegram_bot(
    api: FakeBotApi, advisor: Advisor, data_dir: Path, database_url: str, clock: SettableClock
) -> AsyncIterator[Application]:
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=api.base_url,
        data_dir=data_dir,
        database_url=database_url,
        user_messages_per_minute=200,
    )
    app = build_application(settings, advisor=advisor, clock=clock)
    async with running(app, poll_timeout=1):
        yield app


async def with_profile(database_url: str, user_id: int, profile: Profile) -> None:
    async with await Store.open(database_url) as store:
        await store.users.touch(user_id, user_id)
        await store.profiles.save(user_id, profile)
        await store.profiles.mark_onboarded(user_id)


async def test_export_sends_a_json_file_of_the_users_data_and_nobody_elses(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api
    await with_profile(
        database_url, ALICE, Profile(current_role="teacher", target_role="Data Analyst", hours_per_week=5)
    )
    await with_profile(database_url, BOB, Profile(current_role="lighthouse keeper", target_role="Cloud Engineer"))

    clock = SettableClock(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC))  # the bot's time, which the header gives
    async with telegram_bot(api, advisor, tmp_path, database_url, clock):
        me, other = Chat(api, ALICE), Chat(api, BOB)
        [plan] = await me.say("/plan")
        first_step = next(b for b in api.buttons(plan) if b.endswith(":completed"))
        await me.press(first_step, expect=2)
        await me.say("which cert for cloud?")
        await me.say("/nudges friday 19:30")
        await other.say("which cert for a lighthouse keeper moving to cloud?")

        before = clock()
        [said] = await me.say("/export")
        await until(lambda: bool(api.documents(ALICE)), within=WITHIN, what="the export file")
        after = clock()

        # in a group the data would be shown to everyone: the bot declines there and sends no file
        await api.send_text("/export", chat_id=GROUP, user_id=ALICE, chat_type="group")
        [declined] = await api.wait_for_messages(1, chat_id=GROUP, within=WITHIN)

    assert "JSON" in plain(said) and "/forget" in plain(said)
    assert "private chat" in plain(declined) and api.documents(GROUP) == []
    [(name, data)] = api.documents(ALICE)
    assert name == "career-advisor-data-2027-03-01.json"
    raw = data.decode("utf-8")
    document = json.loads(raw)
    assert "\n  " in raw  # indented for reading
    assert document["user_id"] == ALICE and BOT_USERNAME in document["bot"]
    assert "everything" in document["about"].lower()
    made = dt.datetime.fromisoformat(document["exported_at"])
    assert made.tzinfo is not None and before <= made <= after
    mine = document["data"]
    assert mine["profile"]["target_role"] == "Data Analyst"
    assert mine["plan"]["target_label"] == "Data Analyst" and mine["plan_steps"]
    assert [row["status"] for row in mine["progress"]] == ["completed"]
    assert "which cert for cloud?" in [turn["question"] for turn in mine["conversation_turns"]]
    assert mine["nudge_settings"]["enabled"] is True and mine["nudge_settings"]["local_time"] == "19:30"
    assert dt.datetime.fromisoformat(mine["account"]["last_seen_at"]).tzinfo is not None
    assert "lighthouse" not in raw.lower()
    for section in mine.values():
        for row in section_rows(section):
            assert BOB not in (row.get("user_id"), row.get("chat_id")), row
    assert "export" in {command.command for command in COMMANDS} and "/export" in Texts.load().help


async def test_the_daily_job_prunes_old_turns_and_forgets_users_gone_for_years(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    api = bot_api
    start = utcnow()
    clock = SettableClock(start)
    await with_profile(
        database_url, ALICE, Profile(current_role="teacher", target_role="Data Analyst", hours_per_week=5)
    )

    async with telegram_bot(api, advisor, tmp_path, database_url, clock) as app:
        services: BotServices = app.bot_data
        assert app.job_queue is not None and services.scheduler is not None
        [job] = app.job_queue.get_jobs_by_name("retention")
        assert job.job.trigger.interval == dt.timedelta(days=1)
        me = Chat(api, ALICE)
        await me.say("which cert for cloud?")
        await me.say("/nudges friday 19:30")
        assert services.scheduler.scheduled == 1
        caplog.set_level(logging.INFO, logger="bot.telegram.app")

        clock.set(start + 100 * DAY)
        await job.run(app)
        async with await Store.open(database_url) as store:
            assert await store.turns.recent(ALICE) == []
            assert await store.profiles.get(ALICE) is not None  # she was here 100 days ago: only turns age out

        clock.set(start + 800 * DAY)
        await job.run(app)
        gone = services.scheduler.scheduled

    async with await Store.open(database_url) as store:
        assert not await store.users.exists(ALICE)
        assert set((await rows_about(store, ALICE)).values()) == {0}
    assert gone == 0  # her weekly nudge went with her
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention:")]
    assert len(logged) == 2 and "turns=1" in logged[0] and "forgotten_users=1" in logged[1], logged


# --- the terminal chat ------------------------------------------------------------------------------------------


async def test_the_terminal_saves_the_export_and_forget_deletes_the_files_too(advisor: Advisor, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    out = io.StringIO()
    charts, exports = tmp_path / "charts", tmp_path / "exports"
    async with await Store.open(url) as store:
        await store.profiles.save(LOCAL_USER.user_id, Profile(current_role="teacher", target_role="Data Analyst"))
        texts = Texts.load()
        chat = TerminalChat(Assistant(store, advisor, texts), texts, out, charts_dir=charts, exports_dir=exports)
        await chat.handle("/plan")
        await chat.handle("/roadmap")
        await chat.handle("/export")
        [saved] = list(exports.glob("*.json"))
        assert f"saved to {saved}" in out.getvalue()
        document = json.loads(saved.read_text(encoding="utf-8"))
        assert document["data"]["plan"]["target_label"] == "Data Analyst"
        assert list(charts.glob("*.png"))

        await chat.handle("/forget")
        assert "/export first sends you a copy" in out.getvalue()
        await chat.handle("1")  # "Yes, delete everything"

        assert "deleted" in out.getvalue()
        assert await store.plans.active(LOCAL_USER.user_id) is None
        assert list(charts.glob("*")) == [] and list(exports.glob("*")) == []
