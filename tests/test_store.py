"""The user store on a real SQLite file and a real PostgreSQL schema: migrations, every repository, forgetting."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import Connection, inspect, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.advisor.models import Facets, Intent, Profile, Turn
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from bot.store import NudgeSettings, Store
from bot.store.engine import create_engine
from bot.store.migrations import head_revision
from bot.store.nudges import NUDGE_COLUMNS
from bot.store.plans import PLAN_COLUMNS
from bot.store.profiles import PROFILE_COLUMNS
from bot.store.tables import metadata, nudge_ledger, utcnow
from ingest.schema import Domain, Level
from tests.conftest import ROOT
from tests.support.databases import BACKENDS, TEST_DATABASE_URL, skip_unless_postgres, sqlite_url

ALICE, BOB = 1001, 2002


@dataclass(frozen=True)
class Database:
    """Where a test's store lives: a fresh SQLite file, or a fresh schema of the PostgreSQL test database."""

    url: str
    schema: str | None = None

    async def open(self) -> Store:
        return await Store.open(self.url, schema=self.schema)


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        yield Database(sqlite_url(tmp_path))
        return
    skip_unless_postgres()
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(TEST_DATABASE_URL)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield Database(TEST_DATABASE_URL, schema)
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture
async def store(database: Database) -> AsyncIterator[Store]:
    opened = await database.open()
    try:
        yield opened
    finally:
        await opened.close()


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


def make_plan(*credential_ids: str, label: str = "Cloud engineer") -> LearningPlan:
    steps = [
        PlanStep(
            position=index,
            credential_id=credential_id,
            credential_name=credential_id.replace("-", " ").title(),
            start_week=index * 2 - 1,
            end_week=index * 2,
            study_hours=12.5 * index,
            milestone=f"pass the {credential_id} exam",
            stage="first" if index == 1 else "next",
        )
        for index, credential_id in enumerate(credential_ids, start=1)
    ]
    return LearningPlan(
        target_label=label,
        target_occupation="cloud-engineer",
        target_domain="cloud",
        hours_per_week=6,
        created_on=dt.date(2026, 3, 2),
        steps=steps,
        notes=["start with the fundamentals", "book the exam early"],
    )


def make_turn(question: str, *ids: str) -> Turn:
    facets = Facets(domains=[Domain.CLOUD], level=Level.BEGINNER, budget_usd=300, providers=["aws"])
    return Turn(question=question, intent=Intent.RECOMMEND, facets=facets, recommendation_ids=list(ids))


# --- migrations and connection settings ---------------------------------------------------------------------


async def test_open_migrates_an_empty_database_to_head_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alembic")
    first = await database.open()
    try:
        assert await table_names(first.engine) == set(metadata.tables) | {"alembic_version"}
        assert await scalar(first.engine, "SELECT version_num FROM alembic_version") == head_revision()
        assert await first.users.touch(ALICE, ALICE)
    finally:
        await first.close()
    assert any("Running upgrade" in record.getMessage() for record in caplog.records)

    caplog.clear()
    again = await database.open()
    try:
        assert not [r.getMessage() for r in caplog.records if "Running upgrade" in r.getMessage()]
        assert await scalar(again.engine, "SELECT count(*) FROM alembic_version") == 1
        assert await scalar(again.engine, "SELECT version_num FROM alembic_version") == head_revision()
        assert await again.users.exists(ALICE)
    finally:
        await again.close()


async def test_migrated_schema_matches_the_tables_module(store: Store) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with store.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_concurrent_opens_of_a_new_database_all_succeed(database: Database) -> None:
    # a timeout turns a lock-up between the openers into a failure instead of a hung run
    async with asyncio.timeout(60):
        stores = await asyncio.gather(*(database.open() for _ in range(3)))
    try:
        assert await scalar(stores[0].engine, "SELECT count(*) FROM alembic_version") == 1
        assert await stores[1].users.touch(ALICE, ALICE)
        assert await stores[2].users.exists(ALICE)
    finally:
        for opened in stores:
            await opened.close()


OPEN_IN_A_PROCESS = """
import asyncio, sys
from bot.store import Store

print("ready", flush=True)
sys.stdin.readline()  # every process has imported everything: now they open the database at once


async def main() -> None:
    store = await Store.open(sys.argv[1], schema=sys.argv[2] or None)
    await store.users.touch(int(sys.argv[3]), 1)
    await store.close()


asyncio.run(main())
"""


async def test_two_processes_opening_one_new_database(database: Database) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", OPEN_IN_A_PROCESS, database.url, database.schema or "", str(user_id)),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for user_id in (ALICE, BOB)
    ]
    async with asyncio.timeout(180):
        for process in processes:
            assert process.stdout is not None
            assert await process.stdout.readline() == b"ready\n"
        results = await asyncio.gather(*(process.communicate(b"go\n") for process in processes))
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()
    async with await database.open() as store:
        assert await store.users.count() == 2
        assert await scalar(store.engine, "SELECT count(*) FROM alembic_version") == 1


async def test_one_process_opening_several_databases_at_once(tmp_path: Path) -> None:
    urls = [f"sqlite+aiosqlite:///{(tmp_path / f'{index}.sqlite3').as_posix()}" for index in range(3)]
    async with asyncio.timeout(60):
        stores = await asyncio.gather(*(Store.open(url) for url in urls))
    try:
        for opened in stores:
            assert await scalar(opened.engine, "SELECT version_num FROM alembic_version") == head_revision()
    finally:
        for opened in stores:
            await opened.close()


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    async with await Store.open(f"sqlite+aiosqlite:///{path.as_posix()}") as store:
        assert path.is_file()
        assert await scalar(store.engine, "PRAGMA journal_mode") == "wal"
        assert await scalar(store.engine, "PRAGMA foreign_keys") == 1
        assert await scalar(store.engine, "PRAGMA busy_timeout") == 30000


async def test_the_database_enforces_keys_checks_and_cascades(store: Store) -> None:
    insert_progress = "INSERT INTO progress (user_id, credential_id, status, updated_at) VALUES (:u, 'cka', :s, :t)"
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as connection:  # no such user
            await connection.execute(text(insert_progress), {"u": ALICE, "s": "todo", "t": now})
    await store.users.touch(ALICE, ALICE)
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as connection:
            await connection.execute(text(insert_progress), {"u": ALICE, "s": "bogus", "t": now})

    await store.profiles.save(ALICE, FULL_PROFILE)
    await store.plans.replace(ALICE, make_plan("cka"))
    async with store.engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE user_id = :u"), {"u": ALICE})
    for table in ("profiles", "progress", "learning_plans", "plan_steps"):
        assert await scalar(store.engine, f"SELECT count(*) FROM {table}") == 0, table


def test_a_schema_is_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", schema="elsewhere")


def test_every_model_field_has_a_column() -> None:
    # A field added to a model without a migration would silently not be stored.
    assert set(Profile.model_fields) == {*PROFILE_COLUMNS, "completed"}
    assert set(LearningPlan.model_fields) == {*PLAN_COLUMNS, "steps"}
    assert set(PlanStep.model_fields) <= set(metadata.tables["plan_steps"].c.keys())
    assert set(NUDGE_COLUMNS) <= set(metadata.tables["nudge_settings"].c.keys())


# --- users ----------------------------------------------------------------------------------------------------


async def test_touch_tells_new_users_and_records_their_private_chat(store: Store) -> None:
    assert not await store.users.exists(ALICE)
    assert await store.users.count() == 0
    assert await store.users.touch(ALICE, -555) is True  # first seen in a group: no private chat yet
    assert await store.users.touch(ALICE, ALICE) is False
    assert await store.users.touch(ALICE, -777) is False
    assert await store.users.touch(BOB, BOB) is True
    assert await store.users.exists(ALICE)
    assert await store.users.count() == 2
    assert await scalar(store.engine, "SELECT chat_id FROM users WHERE user_id = :u", u=ALICE) == ALICE


async def test_timestamps_come_back_timezone_aware_in_utc(store: Store) -> None:
    before = dt.datetime.now(dt.UTC)
    await store.users.touch(ALICE, ALICE)
    users = metadata.tables["users"]
    async with store.engine.connect() as connection:
        row = (await connection.execute(users.select().where(users.c.user_id == ALICE))).one()
    for stamp in (row.created_at, row.last_seen_at):
        assert stamp.utcoffset() == dt.timedelta(0)
        assert before - dt.timedelta(seconds=5) <= stamp <= dt.datetime.now(dt.UTC)


# --- profiles -------------------------------------------------------------------------------------------------

FULL_PROFILE = Profile(
    current_role="teacher",
    target_role="cloud engineer",
    target_domain=Domain.CLOUD,
    level=Level.BEGINNER,
    hours_per_week=7.5,
    budget_usd=400,
    preferred_providers=["aws", "microsoft"],
    experience_years=3,
    completed=["aws-cloud-practitioner", "comptia-a-plus"],
)


async def test_profile_round_trip_creates_the_user(store: Store) -> None:
    assert await store.profiles.get(ALICE) is None
    await store.profiles.save(ALICE, FULL_PROFILE)
    assert await store.profiles.get(ALICE) == FULL_PROFILE
    assert await store.users.exists(ALICE)
    assert await scalar(store.engine, "SELECT chat_id FROM users WHERE user_id = :u", u=ALICE) == ALICE
    # completed ids are stored as progress
    assert await store.progress.all(ALICE) == dict.fromkeys(FULL_PROFILE.completed, StepStatus.COMPLETED)


async def test_completed_is_filled_from_progress(store: Store) -> None:
    await store.profiles.save(ALICE, Profile(current_role="nurse"))
    await store.progress.set(ALICE, "google-data-analytics", StepStatus.COMPLETED)
    await store.progress.set(ALICE, "aws-cloud-practitioner", StepStatus.COMPLETED)
    await store.progress.set(ALICE, "comptia-security-plus", StepStatus.STARTED)
    profile = await store.profiles.get(ALICE)
    assert profile is not None
    assert profile.completed == ["aws-cloud-practitioner", "google-data-analytics"]


async def test_update_changes_some_fields_and_validates(store: Store) -> None:
    await store.profiles.save(ALICE, FULL_PROFILE)
    updated = await store.profiles.update(ALICE, level="intermediate", budget_usd=0)
    assert updated.level is Level.INTERMEDIATE
    assert updated.budget_usd == 0
    assert await store.profiles.get(ALICE) == updated
    assert updated.model_dump(exclude={"level", "budget_usd"}) == FULL_PROFILE.model_dump(
        exclude={"level", "budget_usd"}
    )

    with pytest.raises(ValueError, match="hours_per_week"):
        await store.profiles.update(ALICE, hours_per_week=500)
    with pytest.raises(ValueError, match="favourite_colour"):
        await store.profiles.update(ALICE, favourite_colour="blue")
    assert await store.profiles.get(ALICE) == updated


async def test_update_of_a_new_user_starts_from_an_empty_profile(store: Store) -> None:
    profile = await store.profiles.update(BOB, target_domain="cybersecurity")
    assert profile == Profile(target_domain=Domain.CYBERSECURITY)
    assert await store.profiles.get(BOB) == profile


async def test_onboarding_is_remembered_and_survives_a_save(store: Store) -> None:
    assert not await store.profiles.is_onboarded(ALICE)
    await store.profiles.mark_onboarded(ALICE)
    assert await store.profiles.is_onboarded(ALICE)
    assert await store.profiles.get(ALICE) == Profile()
    await store.profiles.save(ALICE, FULL_PROFILE)
    assert await store.profiles.is_onboarded(ALICE)
    assert not await store.profiles.is_onboarded(BOB)


# --- plans and progress ---------------------------------------------------------------------------------------


async def test_plan_round_trip_and_atomic_replacement(store: Store) -> None:
    assert await store.plans.active(ALICE) is None
    first = make_plan("aws-cloud-practitioner", "aws-solutions-architect-associate", "cka")
    await store.plans.replace(ALICE, first)
    assert await store.plans.active(ALICE) == first

    second = make_plan("az-900", label="Azure administrator")
    await store.plans.replace(ALICE, second)
    assert await store.plans.active(ALICE) == second
    assert await scalar(store.engine, "SELECT count(*) FROM learning_plans") == 1
    assert await scalar(store.engine, "SELECT count(*) FROM plan_steps") == 1

    await store.plans.delete(ALICE)
    assert await store.plans.active(ALICE) is None
    assert await scalar(store.engine, "SELECT count(*) FROM plan_steps") == 0


async def test_an_empty_plan_is_kept(store: Store) -> None:
    empty = make_plan()
    await store.plans.replace(BOB, empty)
    assert await store.plans.active(BOB) == empty


async def test_progress_round_trip_and_survives_a_rebuilt_plan(store: Store) -> None:
    await store.plans.replace(ALICE, make_plan("aws-cloud-practitioner", "cka"))
    await store.progress.set(ALICE, "aws-cloud-practitioner", StepStatus.STARTED)
    await store.progress.set(ALICE, "aws-cloud-practitioner", StepStatus.COMPLETED)
    await store.progress.set(ALICE, "cka", StepStatus.SKIPPED)
    await store.progress.set(BOB, "cka", StepStatus.TODO)
    expected = {"aws-cloud-practitioner": StepStatus.COMPLETED, "cka": StepStatus.SKIPPED}
    assert await store.progress.all(ALICE) == expected

    await store.plans.replace(ALICE, make_plan("cka", "az-900"))
    assert await store.progress.all(ALICE) == expected

    await store.progress.clear(ALICE)
    assert await store.progress.all(ALICE) == {}
    assert await store.progress.all(BOB) == {"cka": StepStatus.TODO}


async def test_progress_refuses_an_unknown_status(store: Store) -> None:
    with pytest.raises(ValueError, match="finished"):
        await store.progress.set(ALICE, "cka", "finished")  # type: ignore[arg-type]


# --- turns ----------------------------------------------------------------------------------------------------


async def test_turns_come_back_oldest_first_and_are_trimmed_per_chat(store: Store) -> None:
    for index in range(7):
        await store.turns.add(ALICE, ALICE, make_turn(f"question {index}", f"cred-{index}"), keep=5)
    await store.turns.add(BOB, BOB, make_turn("bob asks"), keep=5)

    recent = await store.turns.recent(ALICE, limit=3)
    assert [turn.question for turn in recent] == ["question 4", "question 5", "question 6"]
    assert recent[-1] == make_turn("question 6", "cred-6")
    everything = await store.turns.recent(ALICE, limit=50)
    assert [turn.question for turn in everything] == [f"question {index}" for index in range(2, 7)]
    assert await scalar(store.engine, "SELECT count(*) FROM conversation_turns WHERE chat_id = :c", c=ALICE) == 5
    assert [turn.question for turn in await store.turns.recent(BOB)] == ["bob asks"]
    assert await store.turns.recent(999) == []


async def test_turns_in_a_group_chat_create_their_users(store: Store) -> None:
    group = -100123
    await store.turns.add(group, ALICE, make_turn("one"))
    await store.turns.add(group, BOB, make_turn("two"))
    assert [turn.question for turn in await store.turns.recent(group)] == ["one", "two"]
    assert await scalar(store.engine, "SELECT chat_id FROM users WHERE user_id = :u", u=BOB) is None  # not a group


# --- nudges ---------------------------------------------------------------------------------------------------


async def test_nudge_settings_round_trip_and_the_opted_in_list(store: Store) -> None:
    assert await store.nudges.get(ALICE) is None
    await store.users.touch(ALICE, ALICE)
    alice = NudgeSettings(
        enabled=True,
        weekday=3,
        local_time=dt.time(7, 45),
        timezone="Europe/Berlin",
        snoozed_until=dt.date(2026, 5, 1),
        last_tip_id="tip-pomodoro",
    )
    await store.nudges.save(ALICE, alice)
    await store.nudges.save(BOB, NudgeSettings())
    assert await store.nudges.get(ALICE) == alice
    assert await store.nudges.get(BOB) == NudgeSettings()
    assert await store.nudges.enabled() == [(ALICE, ALICE, alice)]

    await store.nudges.save(BOB, NudgeSettings(enabled=True))
    assert [(user_id, chat_id) for user_id, chat_id, _ in await store.nudges.enabled()] == [(ALICE, ALICE), (BOB, BOB)]
    await store.nudges.save(ALICE, alice.model_copy(update={"enabled": False}))
    assert [user_id for user_id, _, _ in await store.nudges.enabled()] == [BOB]


async def test_invalid_models_are_not_stored(store: Store) -> None:
    with pytest.raises(ValueError, match="Nowhere"):
        await store.nudges.save(ALICE, NudgeSettings().model_copy(update={"timezone": "Nowhere/City"}))
    with pytest.raises(ValueError, match="hours_per_week"):
        await store.profiles.save(ALICE, FULL_PROFILE.model_copy(update={"hours_per_week": 500}))
    with pytest.raises(ValueError, match="hours_per_week"):
        await store.plans.replace(ALICE, make_plan("cka").model_copy(update={"hours_per_week": 0}))
    assert await store.nudges.get(ALICE) is None
    assert await store.profiles.get(ALICE) is None
    assert await store.plans.active(ALICE) is None
    assert not await store.users.exists(ALICE)


def test_nudge_settings_validation() -> None:
    assert NudgeSettings.model_validate({"local_time": "09:30:59"}).local_time == dt.time(9, 30)
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        NudgeSettings(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="weekday"):
        NudgeSettings(weekday=7)


# --- conversation states --------------------------------------------------------------------------------------


async def test_conversation_states_round_trip(store: Store) -> None:
    assert await store.conversations.load("onboarding") == {}
    await store.conversations.save("onboarding", (ALICE, ALICE), 2)
    await store.conversations.save("onboarding", (-100123, BOB), "ASK_BUDGET")
    await store.conversations.save("onboarding", (BOB,), 1)
    await store.conversations.save("plan", (ALICE, ALICE), [1, "x"])
    await store.conversations.save("onboarding", (ALICE, ALICE), 3)
    assert await store.conversations.load("onboarding") == {(ALICE, ALICE): 3, (-100123, BOB): "ASK_BUDGET", (BOB,): 1}
    assert await store.conversations.get("onboarding", (-100123, BOB)) == "ASK_BUDGET"
    assert await store.conversations.get("plan", (ALICE, ALICE)) == [1, "x"]
    assert await store.conversations.get("onboarding", (BOB, BOB)) is None

    await store.conversations.save("onboarding", (ALICE, ALICE), None)
    await store.conversations.save("onboarding", ("never", "stored"), None)
    assert await store.conversations.load("onboarding") == {(-100123, BOB): "ASK_BUDGET", (BOB,): 1}
    assert await store.conversations.load("plan") == {(ALICE, ALICE): [1, "x"]}

    owners = "SELECT user_id FROM conversation_states WHERE name = 'onboarding' ORDER BY key"
    async with store.engine.connect() as connection:
        assert list((await connection.execute(text(owners))).scalars()) == [BOB, None]


# --- forgetting and restarting --------------------------------------------------------------------------------


async def fill(store: Store, user_id: int) -> None:
    await store.users.touch(user_id, user_id)
    await store.profiles.save(user_id, FULL_PROFILE)
    await store.profiles.mark_onboarded(user_id)
    await store.plans.replace(user_id, make_plan("aws-cloud-practitioner", "cka"))
    await store.progress.set(user_id, "cka", StepStatus.STARTED)
    await store.turns.add(user_id, user_id, make_turn("hello", "cka"))
    await store.nudges.save(user_id, NudgeSettings(enabled=True))
    await store.conversations.save("onboarding", (user_id, user_id), 1)
    await store.ledger.claim(user_id, "2026-W49", dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC), "test")
    await store.llm_usage.take(user_id, dt.date(2026, 12, 7), cap=5)
    await store.message_rate.take(user_id, dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC), limit=5)
    await store.broadcasts.start(await store.broadcasts.draft(user_id, "New guides this week"))


async def rows_about(engine: AsyncEngine, user_id: int, plan_ids: list[int]) -> dict[str, int]:
    """Rows naming the user in every table of the database, found by looking at the database itself."""

    def count(connection: Connection) -> dict[str, int]:
        inspector = inspect(connection)
        counts: dict[str, int] = {}
        for table in inspector.get_table_names():
            columns = {column["name"] for column in inspector.get_columns(table)}
            if "user_id" in columns:
                sql, params = f"SELECT count(*) FROM {table} WHERE user_id = :u", {"u": user_id}
            elif "created_by" in columns:
                sql, params = f"SELECT count(*) FROM {table} WHERE created_by = :u", {"u": user_id}
            elif "plan_id" in columns:
                sql = f"SELECT count(*) FROM {table} WHERE plan_id IN ({', '.join(map(str, plan_ids or [-1]))})"
                params = {}
            else:
                continue
            counts[table] = connection.execute(text(sql), params).scalar_one()
        return counts

    async with engine.connect() as connection:
        return await connection.run_sync(count)


async def plan_ids_of(engine: AsyncEngine, user_id: int) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT id FROM learning_plans WHERE user_id = :u"), {"u": user_id})
        return list(rows.scalars())


async def test_forget_deletes_every_row_about_the_user_only(store: Store) -> None:
    await fill(store, ALICE)
    await fill(store, BOB)
    alice_plans, bob_plans = await plan_ids_of(store.engine, ALICE), await plan_ids_of(store.engine, BOB)
    before = await rows_about(store.engine, ALICE, alice_plans)
    # every table was looked at; processed update ids and the sending pace are the only rows about nobody
    assert set(before) == set(metadata.tables) - {"processed_updates", "send_budget"}
    assert all(before.values()), before

    await store.users.forget(ALICE)

    assert await rows_about(store.engine, ALICE, alice_plans) == dict.fromkeys(before, 0)
    assert all((await rows_about(store.engine, BOB, bob_plans)).values())
    assert not await store.users.exists(ALICE)
    assert await store.profiles.get(ALICE) is None
    assert await store.conversations.load("onboarding") == {(BOB, BOB): 1}
    await store.users.forget(ALICE)  # forgetting twice is harmless


async def test_everything_survives_a_restart(database: Database) -> None:
    first = await database.open()
    try:
        await fill(first, ALICE)
    finally:
        await first.close()

    async with await database.open() as store:
        assert await store.users.count() == 1
        assert await store.profiles.get(ALICE) == FULL_PROFILE
        assert await store.profiles.is_onboarded(ALICE)
        assert await store.plans.active(ALICE) == make_plan("aws-cloud-practitioner", "cka")
        progress = await store.progress.all(ALICE)
        assert progress["cka"] is StepStatus.STARTED
        assert [turn.question for turn in await store.turns.recent(ALICE)] == ["hello"]
        assert await store.nudges.enabled() == [(ALICE, ALICE, NudgeSettings(enabled=True))]
        assert await store.conversations.load("onboarding") == {(ALICE, ALICE): 1}


# --- nudge ledger -----------------------------------------------------------------------------------


async def test_a_week_is_claimed_once_whoever_asks(store: Store) -> None:
    due = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
    claims = await asyncio.gather(*(store.ledger.claim(ALICE, "2026-W50", due, f"process-{i}") for i in range(5)))
    assert sorted(claims) == [False, False, False, False, True]
    entry = await store.ledger.get(ALICE, "2026-W50")
    assert entry is not None and entry.status == "pending" and entry.due_at == due
    await store.ledger.note_attempt(ALICE, "2026-W50", 1, "network down")
    await store.ledger.mark_sent(ALICE, "2026-W50", 2)
    entry = await store.ledger.get(ALICE, "2026-W50")
    assert entry is not None and entry.status == "sent" and entry.attempts == 2 and entry.sent_at is not None
    assert not await store.ledger.claim(ALICE, "2026-W50", due, "later")
    assert not await store.ledger.record_missed(ALICE, "2026-W50", due)

    assert await store.ledger.record_missed(BOB, "2026-W50", due)
    assert await store.ledger.claim(BOB, "2026-W51", due + dt.timedelta(days=7), "p")
    await store.ledger.mark_failed(BOB, "2026-W51", 1, "Forbidden: bot was blocked by the user" * 20)
    failed = await store.ledger.get(BOB, "2026-W51")
    assert failed is not None and failed.status == "failed" and failed.error is not None and len(failed.error) <= 300
    assert await store.ledger.week_counts("2026-W50") == {"pending": 0, "sent": 1, "failed": 0, "missed": 1}
    assert [e.week for e in await store.ledger.history(BOB)] == ["2026-W50", "2026-W51"]


async def test_the_daily_llm_cap_counts_per_user_and_day(store: Store) -> None:
    monday, tuesday = dt.date(2026, 12, 7), dt.date(2026, 12, 8)
    taken = await asyncio.gather(*(store.llm_usage.take(ALICE, monday, cap=3) for _ in range(5)))
    assert sorted(taken) == [False, False, True, True, True]
    assert await store.llm_usage.take(BOB, monday, cap=3)
    assert await store.llm_usage.take(ALICE, tuesday, cap=3)
    assert not await store.llm_usage.take(ALICE, tuesday, cap=0)


# --- the per-user message limit ------------------------------------------------------------------


async def test_concurrent_messages_at_the_limit_admit_exactly_the_limit(store: Store) -> None:
    now = dt.datetime(2026, 12, 7, 17, 0, 5, tzinfo=dt.UTC)
    decisions = await asyncio.gather(*(store.message_rate.take(ALICE, now, limit=5) for _ in range(9)))
    assert sum(d.allowed for d in decisions) == 5
    refused = [d for d in decisions if not d.allowed]
    assert [d.first_refusal for d in refused].count(True) == 1  # one polite warning, whoever came first
    assert not any(d.first_refusal for d in decisions if d.allowed)
    assert (await store.message_rate.take(BOB, now, limit=5)).allowed  # every user has an allowance of their own


async def test_the_first_refusal_of_a_window_is_flagged_once(store: Store) -> None:
    now = dt.datetime(2026, 12, 7, 17, 0, 5, tzinfo=dt.UTC)
    decisions = [await store.message_rate.take(ALICE, now + dt.timedelta(seconds=i), limit=3) for i in range(7)]
    assert [(d.allowed, d.first_refusal) for d in decisions] == [(True, False)] * 3 + [(False, True)] + [
        (False, False)
    ] * 3


async def test_a_window_ends_a_minute_after_its_first_message(store: Store) -> None:
    start = dt.datetime(2026, 12, 7, 17, 0, 50, tzinfo=dt.UTC)

    async def take(seconds_later: float) -> tuple[bool, bool]:
        decision = await store.message_rate.take(ALICE, start + dt.timedelta(seconds=seconds_later), limit=2)
        return decision.allowed, decision.first_refusal

    assert [await take(0), await take(1)] == [(True, False), (True, False)]
    # the clock's minute turned at 10 s; the window did not: a burst is judged from its own first message
    assert [await take(15), await take(59.9)] == [(False, True), (False, False)]
    # refusals did not stretch the window: it ended at 60 s, and the next one warns afresh
    assert [await take(60), await take(61), await take(62)] == [(True, False), (True, False), (False, True)]
    assert await take(200) == (True, False)  # long after, a fresh window


async def test_two_replicas_on_one_database_share_the_count(database: Database, store: Store) -> None:
    now = dt.datetime(2026, 12, 7, 17, 0, 5, tzinfo=dt.UTC)
    async with await database.open() as replica:
        assert (await replica.message_rate.take(ALICE, now, limit=4)).allowed
        assert (await store.message_rate.take(ALICE, now, limit=4)).allowed
        both = await asyncio.gather(
            *(s.message_rate.take(ALICE, now, limit=4) for s in (store, replica, store, replica, store, replica))
        )
        assert sum(d.allowed for d in both) == 2  # four in all, counted on either replica
        assert sum(d.first_refusal for d in both) == 1
        later = await replica.message_rate.take(ALICE, now + dt.timedelta(seconds=30), limit=4)
        assert not later.allowed and not later.first_refusal  # the other replica already warned


async def test_idle_windows_are_deleted_as_messages_go_by(store: Store) -> None:
    from bot.store.rate import PRUNE_EVERY

    start = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
    await store.message_rate.take(ALICE, start, limit=5)
    await store.message_rate.take(BOB, start + dt.timedelta(seconds=100), limit=5)
    assert await scalar(store.engine, "SELECT count(*) FROM message_rate") == 2
    # only every so many messages is there a look for old windows: here BOB's messages trigger it
    for second in range(PRUNE_EVERY - 3):
        await store.message_rate.take(BOB, start + dt.timedelta(seconds=130 + second / 1000), limit=PRUNE_EVERY)
    assert await scalar(store.engine, "SELECT count(*) FROM message_rate") == 2
    await store.message_rate.take(BOB, start + dt.timedelta(seconds=131), limit=PRUNE_EVERY)
    # ALICE's window started more than two minutes before; BOB's is still in use
    assert await scalar(store.engine, "SELECT user_id FROM message_rate") == BOB
    assert await store.message_rate.prune(start + dt.timedelta(seconds=101)) == 1
    assert await scalar(store.engine, "SELECT count(*) FROM message_rate") == 0


# --- webhook updates and broadcasts --------------------------------------------------------------


async def test_an_update_is_taken_once_and_old_ones_are_pruned(store: Store) -> None:
    now = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
    firsts = await asyncio.gather(*(store.updates.first_time(555, now) for _ in range(4)))
    assert sorted(firsts) == [False, False, False, True]
    assert await store.updates.first_time(556, now)
    assert await store.updates.prune(now + dt.timedelta(days=3)) == 2
    assert await store.updates.first_time(555, now + dt.timedelta(days=3))  # gone after the keep period


async def test_a_broadcast_starts_once_and_each_recipient_is_claimed_once(store: Store) -> None:
    for user_id in range(1, 8):
        await store.users.touch(user_id, user_id)
    draft = await store.broadcasts.draft(1, "Hello all")
    cancelled = await store.broadcasts.draft(1, "Oops")
    assert await store.broadcasts.cancel(cancelled) and not await store.broadcasts.cancel(cancelled)
    assert await store.broadcasts.start(cancelled) is None
    started = await asyncio.gather(*(store.broadcasts.start(draft) for _ in range(3)))
    assert sorted(started, key=lambda n: n or 0) == [None, None, 7]
    assert await store.broadcasts.unfinished() == [draft]

    batches = await asyncio.gather(*(store.broadcasts.claim(draft, 3) for _ in range(4)))
    claimed = [recipient for batch in batches for recipient in batch]
    assert sorted(r.user_id for r in claimed) == list(range(1, 8))  # everyone once, nobody twice
    assert {r.chat_id for r in claimed} == set(range(1, 8))
    for recipient in claimed:
        await store.broadcasts.delivered(draft, recipient.user_id, "Forbidden" if recipient.user_id == 3 else None)
    assert await store.broadcasts.counts(draft) == {"queued": 0, "sending": 0, "sent": 6, "failed": 1}
    assert await store.broadcasts.finish(draft) and not await store.broadcasts.finish(draft)
    broadcast = await store.broadcasts.get(draft)
    assert broadcast is not None and broadcast.status == "done" and broadcast.text == "Hello all"
    assert await store.broadcasts.unfinished() == []


async def test_a_broadcast_with_queued_recipients_is_not_finished(store: Store) -> None:
    for user_id in (1, 2):
        await store.users.touch(user_id, user_id)
    draft = await store.broadcasts.draft(1, "Hi")
    await store.broadcasts.start(draft)
    [first] = await store.broadcasts.claim(draft, 1)
    await store.broadcasts.delivered(draft, first.user_id)
    assert not await store.broadcasts.finish(draft)
    assert await store.broadcasts.counts(draft) == {"queued": 1, "sending": 0, "sent": 1, "failed": 0}


async def test_a_stale_claim_is_taken_over_once_and_a_tried_one_never(store: Store) -> None:
    due = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
    for user_id in (ALICE, BOB):
        assert await store.ledger.claim(user_id, "2026-W50", due, "dead-process")
    assert await store.ledger.begin_send(BOB, "2026-W50", "dead-process")  # Bob's may have reached him
    assert await store.ledger.take_over_stale("fresh", dt.timedelta(minutes=5)) == []  # not stale yet

    lease = dt.timedelta(minutes=5)
    async with store.engine.begin() as connection:  # ten minutes pass: the claims are older than the lease
        await connection.execute(update(nudge_ledger).values(updated_at=utcnow() - dt.timedelta(minutes=10)))
    # a row just taken over is fresh again, so the other two find nothing to take
    taken = await asyncio.gather(*(store.ledger.take_over_stale(f"p{i}", lease) for i in range(3)))
    winners = [entries for entries in taken if entries]
    assert len(winners) == 1 and [(e.user_id, e.attempts) for e in winners[0]] == [(ALICE, 0)]
    new_owner = winners[0][0].owner
    assert new_owner is not None and new_owner.startswith("p")
    assert not await store.ledger.begin_send(ALICE, "2026-W50", "dead-process")  # fenced off
    assert await store.ledger.begin_send(ALICE, "2026-W50", new_owner)
    assert await store.ledger.take_over_stale("late", dt.timedelta(0)) == []  # both were tried now
    entry = await store.ledger.get(ALICE, "2026-W50")
    assert entry is not None and entry.owner == new_owner and entry.attempts == 1


class _ScriptedCursor:
    """A cursor whose journal mode and WAL switch follow a script: SQLite's lock refusal is hard to time."""

    def __init__(self, modes: list[str], switch_errors: list[Exception | None]) -> None:
        self.modes, self.switch_errors, self.switches = modes, switch_errors, 0

    def execute(self, statement: str) -> None:
        if statement.endswith("=WAL"):
            self.switches += 1
            error = self.switch_errors.pop(0)
            if error is not None:
                raise error

    def fetchone(self) -> tuple[str]:
        return (self.modes.pop(0),)


def test_a_refused_switch_to_wal_looks_again_and_other_errors_stand() -> None:
    from bot.store.engine import ensure_wal

    # another process switched the new file to WAL while this one was refused
    raced = _ScriptedCursor(["delete", "wal"], [OSError("database is locked")])
    ensure_wal(raced)
    assert raced.switches == 1
    # refused twice, then this process switches it itself
    retried = _ScriptedCursor(["delete", "delete", "delete"], [OSError("database is locked")] * 2 + [None])
    ensure_wal(retried)
    assert retried.switches == 3
    with pytest.raises(OSError, match="disk I/O error"):
        ensure_wal(_ScriptedCursor(["delete"], [OSError("disk I/O error")]))
    with pytest.raises(OSError, match="locked"):
        ensure_wal(_ScriptedCursor(["delete"] * 100, [OSError("database is locked")] * 100), within_seconds=0.1)
