"""Weekly nudges: due times across zones and daylight saving, and delivery exactly once over HTTP.

The bot runs for real against the local Bot API server, on a SQLite file and on a PostgreSQL
database; only the clock is moved, so a nudge due "next Monday" arrives a second after the test sets
the clock to just before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram.ext import Application

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import until
from bench.harness.clock import SettableClock
from bot.advisor import Advisor, Profile
from bot.config import load_settings
from bot.nudges.schedule import iso_week, latest_due, next_due
from bot.planner.builder import build_plan
from bot.planner.models import StepStatus
from bot.store import Store
from bot.store.nudges import NudgeSettings
from bot.telegram.app import build_application
from bot.telegram.context import BotServices
from bot.telegram.lifecycle import running
from bot.telegram.requests import SEND_READ_TIMEOUT
from tests.conftest import TEST_TOKEN

UTC = dt.UTC
BERLIN, NEW_YORK, LONDON = 7001, 7002, 7003
# Nudges due this close to now are waited for by `settle`; every other one in these tests is days away.
SOON = dt.timedelta(seconds=10)
OPTED_IN = dt.datetime(2026, 12, 1, tzinfo=UTC)  # the Tuesday before the first nudge in these tests


def weekly(zone: str, weekday: int, at: str) -> NudgeSettings:
    hour, minute = map(int, at.split(":"))
    return NudgeSettings(
        enabled=True, weekday=weekday, local_time=dt.time(hour, minute), timezone=zone, enabled_at=OPTED_IN
    )


# -- when a nudge is due ----------------------------------------------------------------------------


def test_the_local_time_holds_across_daylight_saving_changes() -> None:
    sunday_ten = weekly("Europe/Berlin", 6, "10:00")
    before = next_due(sunday_ten, dt.datetime(2027, 3, 20, tzinfo=UTC))
    after = next_due(sunday_ten, before)
    # 2027-03-28 is the first Sunday of summer time in Berlin: 10:00 is 09:00 UTC before, 08:00 after
    assert before == dt.datetime(2027, 3, 21, 9, 0, tzinfo=UTC)
    assert after == dt.datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    autumn = next_due(sunday_ten, dt.datetime(2027, 10, 30, tzinfo=UTC))
    assert autumn == dt.datetime(2027, 10, 31, 9, 0, tzinfo=UTC)  # back to winter time on 31 October
    assert iso_week(after, sunday_ten) == "2027-W12"


def test_two_zones_give_two_instants_for_the_same_local_time() -> None:
    monday = dt.datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert next_due(weekly("Europe/Berlin", 0, "18:00"), monday) == dt.datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    assert next_due(weekly("America/New_York", 0, "18:00"), monday) == dt.datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    # late on Sunday in UTC is already Monday in Tokyo
    tokyo = weekly("Asia/Tokyo", 0, "08:00")
    assert next_due(tokyo, dt.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)) == dt.datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert iso_week(dt.datetime(2026, 12, 6, 23, 0, tzinfo=UTC), tokyo) == "2026-W50"


def test_snooze_and_opting_in_decide_which_occurrences_count() -> None:
    settings = weekly("UTC", 0, "18:00")
    now = dt.datetime(2026, 12, 8, 12, 0, tzinfo=UTC)  # a Tuesday
    assert latest_due(settings, now) == dt.datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    snoozed = settings.model_copy(update={"snoozed_until": dt.date(2026, 12, 15)})
    assert next_due(snoozed, now) == dt.datetime(2026, 12, 21, 18, 0, tzinfo=UTC)
    just_joined = settings.model_copy(update={"enabled_at": dt.datetime(2026, 12, 8, 9, 0, tzinfo=UTC)})
    assert latest_due(just_joined, now) is None  # no nudge for a week that started before opting in


# -- delivery over HTTP -----------------------------------------------------------------------------


@asynccontextmanager
async def bot_process(
    api: FakeBotApi,
    advisor: Advisor,
    data_dir: Path,
    clock: SettableClock,
    *,
    database_url: str | None = None,
    send_read_timeout: float = SEND_READ_TIMEOUT,
) -> AsyncIterator[Application]:
    """One run of the bot on `database_url`, or by default on the SQLite file in `data_dir`."""
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=api.base_url,
        data_dir=data_dir,
        database_url=database_url,
    )
    app = build_application(
        settings, advisor=advisor, clock=clock, nudge_retry_base_seconds=0.2, send_read_timeout=send_read_timeout
    )
    async with running(app, poll_timeout=1):
        yield app


def scheduler_of(app: Application):  # type: ignore[no-untyped-def]
    services: BotServices = app.bot_data
    assert services.scheduler is not None
    return services.scheduler


def url_of(database: str | Path) -> str:
    """A database URL as it is, or a data directory's SQLite file: the one the bot uses there when given no URL."""
    return database if isinstance(database, str) else f"sqlite+aiosqlite:///{(database / 'bot.sqlite3').as_posix()}"


async def opt_in(
    database: str | Path, advisor: Advisor, user_id: int, settings: NudgeSettings, *, plan: bool = True
) -> None:
    async with await Store.open(url_of(database)) as store:
        await store.users.touch(user_id, user_id)
        profile = Profile(current_role="teacher", target_role="Data Analyst", hours_per_week=5)
        await store.profiles.save(user_id, profile)
        if plan:
            await store.plans.replace(user_id, build_plan(advisor.catalog, profile, dt.date(2026, 12, 1)))
        await store.nudges.save(user_id, settings)


async def ledger(database: str | Path, user_id: int) -> list[tuple[str, str, int]]:
    async with await Store.open(url_of(database)) as store:
        return [(e.week, e.status, e.attempts) for e in await store.ledger.history(user_id)]


async def settle(*apps: Application) -> None:
    """Until every nudge due now (or in the next seconds) is delivered or found already sent.

    Then nothing more can go out until the next due time, which in these tests is days away, so a
    count taken now is final.
    """
    schedulers = [scheduler_of(app) for app in apps]
    await until(lambda: all(s.pending(SOON) == 0 for s in schedulers), within=60, what="the due nudges to go out")


async def test_each_user_gets_one_nudge_at_their_local_time_and_restarts_change_nothing(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api
    await opt_in(database_url, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))  # 17:00 UTC in December
    await opt_in(database_url, advisor, NEW_YORK, weekly("America/New_York", 0, "09:00"))  # 14:00 UTC
    clock = SettableClock(dt.datetime(2026, 12, 7, 13, 59, 58, tzinfo=UTC))

    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
        await api.wait_for_messages(1, chat_id=NEW_YORK, within=15)
        assert api.sent_messages(BERLIN) == []
        clock.set(dt.datetime(2026, 12, 7, 16, 59, 58, tzinfo=UTC))
        await scheduler_of(app).rebuild()
        [berlin] = await api.wait_for_messages(1, chat_id=BERLIN, within=15)
        await settle(app)

    assert "weekly learning check-in" in berlin["text"] and "Next step:" in berlin["text"]
    assert "Progress toward Data Analyst: 0%" in berlin["text"] and "Tip for this week" in berlin["text"]
    assert "k:done:1" in api.buttons(berlin) and "k:stop" in api.buttons(berlin)

    # restarted just after the Berlin nudge was due, and again an hour later: nothing is sent twice
    for later in (dt.datetime(2026, 12, 7, 17, 0, 30, tzinfo=UTC), dt.datetime(2026, 12, 7, 18, 0, tzinfo=UTC)):
        clock.set(later)
        async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
            await settle(app)
    assert len(api.sent_messages(BERLIN)) == 1 and len(api.sent_messages(NEW_YORK)) == 1
    assert await ledger(database_url, BERLIN) == [("2026-W50", "sent", 1)]

    # the check-in buttons update progress directly
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url):
        await api.press_button("k:done:1", chat_id=BERLIN)
        congratulations, progress = (await api.wait_for_messages(3, chat_id=BERLIN))[1:]
        assert "Congratulations" in congratulations["text"] and "1 of" in progress["text"]
        await api.press_button("k:stop", chat_id=NEW_YORK)
        await api.wait_for_messages(2, chat_id=NEW_YORK)
    async with await Store.open(database_url) as store:
        plan = await store.plans.active(BERLIN)
        assert plan is not None
        assert (await store.progress.all(BERLIN))[plan.steps[0].credential_id] is StepStatus.COMPLETED
        stopped = await store.nudges.get(NEW_YORK)
        assert stopped is not None and not stopped.enabled

    # next week only Berlin is nudged again, once
    clock.set(dt.datetime(2026, 12, 14, 16, 59, 58, tzinfo=UTC))
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
        await api.wait_for_messages(4, chat_id=BERLIN, within=15)
        await settle(app)
    assert len(api.sent_messages(BERLIN)) == 4 and len(api.sent_messages(NEW_YORK)) == 2
    assert [w for w, status, _ in await ledger(database_url, BERLIN) if status == "sent"] == ["2026-W50", "2026-W51"]


async def test_a_restart_just_before_the_nudge_is_due_still_sends_it_once(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api
    await opt_in(database_url, advisor, LONDON, weekly("Europe/London", 0, "20:00"))
    clock = SettableClock(dt.datetime(2026, 12, 7, 19, 59, 50, tzinfo=UTC))
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
        assert scheduler_of(app).pending(SOON) == 1  # scheduled, and stopped ten seconds before it is due
    clock.set(dt.datetime(2026, 12, 7, 19, 59, 58, tzinfo=UTC))
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
        await api.wait_for_messages(1, chat_id=LONDON, within=15)
        await settle(app)
    assert len(api.sent_messages(LONDON)) == 1


async def test_a_daylight_saving_change_keeps_the_local_time(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    await opt_in(database_url, advisor, BERLIN, weekly("Europe/Berlin", 6, "10:00"))
    # the first Sunday of summer time: 10:00 in Berlin is 08:00 UTC, an hour earlier than the week before
    clock = SettableClock(dt.datetime(2027, 3, 28, 7, 59, 58, tzinfo=UTC))
    async with bot_process(bot_api, advisor, tmp_path, clock, database_url=database_url):
        await bot_api.wait_for_messages(1, chat_id=BERLIN, within=15)
    # opted in long before: the previous Sunday, over a day before the bot started, is recorded as missed
    assert await ledger(database_url, BERLIN) == [("2027-W11", "missed", 0), ("2027-W12", "sent", 1)]


async def test_two_bot_processes_on_one_database_send_one_nudge_per_user(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    users = list(range(7100, 7110))
    for user_id in users:
        await opt_in(database_url, advisor, user_id, weekly("UTC", 0, "12:00"), plan=user_id % 2 == 0)
    clock = SettableClock(dt.datetime(2026, 12, 7, 11, 59, 58, tzinfo=UTC))
    async with (
        bot_process(bot_api, advisor, tmp_path, clock, database_url=database_url) as first,
        bot_process(bot_api, advisor, tmp_path, clock, database_url=database_url) as second,
    ):
        await bot_api.wait_for_messages(len(users), within=20)
        await settle(first, second)
    for user_id in users:
        assert len(bot_api.sent_messages(user_id)) == 1, user_id
    no_plan = bot_api.sent_messages(7101)[0]
    assert "no learning plan yet" in no_plan["text"] and "k:plan" in bot_api.buttons(no_plan)


async def test_rate_limits_and_server_errors_are_retried_until_the_nudge_arrives_once(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    await opt_in(database_url, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))
    bot_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    bot_api.fail_next("sendMessage", 500, "Internal Server Error")
    bot_api.fail_next("sendMessage", 500, "Internal Server Error")
    clock = SettableClock(dt.datetime(2026, 12, 7, 16, 59, 59, tzinfo=UTC))
    async with bot_process(bot_api, advisor, tmp_path, clock, database_url=database_url) as app:
        await bot_api.wait_for_messages(1, chat_id=BERLIN, within=20)
        await settle(app)
    attempts = [c for c in bot_api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == BERLIN]
    assert [c.ok for c in attempts] == [False, False, False, True]
    # the 429 was waited out for the second it named
    assert attempts[1].at - attempts[0].at >= 0.9
    assert await ledger(database_url, BERLIN) == [("2026-W50", "sent", 3)]


async def test_a_user_who_blocked_the_bot_stops_being_nudged(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    await opt_in(database_url, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))
    bot_api.blocked_chats.add(BERLIN)
    clock = SettableClock(dt.datetime(2026, 12, 7, 16, 59, 59, tzinfo=UTC))
    async with bot_process(bot_api, advisor, tmp_path, clock, database_url=database_url) as app:
        await settle(app)
        clock.set(dt.datetime(2026, 12, 14, 16, 59, 59, tzinfo=UTC))
        await scheduler_of(app).rebuild()
        await settle(app)
    tries = [c for c in bot_api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == BERLIN]
    assert len(tries) == 1 and not tries[0].ok  # tried once, never retried, never again the week after
    [(week, status, _)] = await ledger(database_url, BERLIN)
    assert (week, status) == ("2026-W50", "failed")
    async with await Store.open(database_url) as store:
        settings = await store.nudges.get(BERLIN)
        assert settings is not None and not settings.enabled


async def test_snooze_skips_one_week_and_a_long_outage_records_a_miss(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    api = bot_api
    await opt_in(database_url, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))
    clock = SettableClock(dt.datetime(2026, 12, 8, 9, 0, tzinfo=UTC))  # a Tuesday: the Monday nudge is 16 h late
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url):
        [late] = await api.wait_for_messages(1, chat_id=BERLIN, within=15)
        await api.send_text("/nudges snooze", chat_id=BERLIN)
        [_, snoozed] = await api.wait_for_messages(2, chat_id=BERLIN)
    assert "weekly learning check-in" in late["text"]
    assert "Snoozed: no nudge on Monday 14 December" in snoozed["text"]

    clock.set(dt.datetime(2026, 12, 14, 16, 59, 58, tzinfo=UTC))  # the snoozed Monday
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
        await settle(app)
    assert len(api.sent_messages(BERLIN)) == 2

    clock.set(dt.datetime(2026, 12, 23, 12, 0, tzinfo=UTC))  # down from before 21 December until two days after
    async with bot_process(api, advisor, tmp_path, clock, database_url=database_url) as app:
        await settle(app)
    assert len(api.sent_messages(BERLIN)) == 2
    assert await ledger(database_url, BERLIN) == [("2026-W50", "sent", 1), ("2026-W52", "missed", 0)]


@pytest.mark.parametrize("command", ["/nudges friday 19:30", "/nudges off"])
async def test_nudge_settings_change_by_command(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str, command: str
) -> None:
    await opt_in(database_url, advisor, BERLIN, weekly("Europe/Berlin", 0, "18:00"))
    clock = SettableClock(dt.datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    async with bot_process(bot_api, advisor, tmp_path, clock, database_url=database_url):
        await bot_api.send_text(command, chat_id=BERLIN)
        [reply] = await bot_api.wait_for_messages(1, chat_id=BERLIN)
    if command.endswith("off"):
        assert "Weekly nudges are off" in reply["text"]
    else:
        assert (
            "Fridays at 19:30 (Europe/Berlin)" in reply["text"]
            and "Next one: Friday 11 December, 19:30" in reply["text"]
        )
