"""Weekly-nudge delivery at scale: N opted-in users due in the same minute, sent by the real bot.

    .venv/bin/python -m bench.nudges [--users 10000] [--lead 2] [--json PATH]

The users go into a fresh SQLite file in bulk; the bot reads them through its own store, schedules
them with PTB's JobQueue and sends through its AIORateLimiter to the local Bot API server of the
tests, which records when each call arrived. Prints a table and writes bench/results/nudges.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from telegram.ext import Application

from bench.__main__ import _cpu_model
from bench.harness.botapi import FakeBotApi
from bench.harness.clock import SettableClock
from bench.telegram_load import bot_settings
from bot.advisor import Advisor, Profile
from bot.config import Settings, load_settings
from bot.logging_setup import configure_logging
from bot.nudges.schedule import iso_week, latest_due, next_due
from bot.planner.builder import build_plan
from bot.planner.models import LearningPlan
from bot.services import build_advisor
from bot.store import Store
from bot.store.nudges import NUDGE_COLUMNS, NudgeSettings
from bot.store.plans import PLAN_COLUMNS
from bot.store.profiles import PROFILE_COLUMNS
from bot.store.tables import learning_plans, nudge_ledger, nudge_settings, plan_steps, profiles, users
from bot.telegram.app import build_application
from bot.telegram.context import BotServices
from bot.telegram.lifecycle import running

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench" / "results" / "nudges.json"
TOKEN = "123456789:AABenchmarkTokenNotARealOne_abcdefghij"
# Every user is due at this instant, whatever their zone: 17:00 UTC on a Monday in December.
DUE = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
OPTED_IN = DUE - dt.timedelta(days=6)  # after last week's occurrence, so nothing is missed or late at start
# Zones whose local wall-clock times (Tokyo's on the Tuesday) all fall on DUE.
ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo")
FIRST_USER_ID = 1_000_000
NO_PLAN_MARK = "no learning plan yet"
BATCH = 2_000


def settings_in(zone: str) -> NudgeSettings:
    """Weekly nudges at the local weekday and time that DUE is in `zone`."""
    local = DUE.astimezone(ZoneInfo(zone))
    return NudgeSettings(
        enabled=True, weekday=local.weekday(), local_time=local.time(), timezone=zone, enabled_at=OPTED_IN
    )


def nudge_row(user_id: int, settings: NudgeSettings, now: dt.datetime) -> dict[str, Any]:
    values: dict[str, Any] = settings.model_dump(mode="python", include=set(NUDGE_COLUMNS))
    values["local_time"] = settings.local_time.strftime("%H:%M")  # stored as the repository stores it
    return {"user_id": user_id, **values, "updated_at": now}


async def populate(url: str, count: int, plan: LearningPlan, profile: Profile) -> None:
    """Insert `count` opted-in users (every other one with `plan`) in bulk, then read a few back through the store."""
    zones = {zone: settings_in(zone) for zone in ZONES}
    for zone, settings in zones.items():  # the premise of the benchmark: one UTC minute for every zone
        assert next_due(settings, DUE - dt.timedelta(minutes=1)) == DUE, zone
    now = dt.datetime.now(dt.UTC)
    profile_values = profile.model_dump(mode="json", include=set(PROFILE_COLUMNS))
    plan_values = plan.model_dump(mode="python", include=set(PLAN_COLUMNS))
    steps = [step.model_dump(mode="python") for step in plan.steps]
    ids = [FIRST_USER_ID + n for n in range(count)]
    async with await Store.open(url) as store:
        for start in range(0, count, BATCH):
            chunk = ids[start : start + BATCH]
            planned = [(n, uid) for n, uid in enumerate(chunk, start + 1) if uid % 2 == 0]
            async with store.engine.begin() as connection:
                await connection.execute(
                    insert(users), [{"user_id": u, "chat_id": u, "created_at": now, "last_seen_at": now} for u in chunk]
                )
                await connection.execute(
                    insert(profiles), [{"user_id": u, **profile_values, "updated_at": now} for u in chunk]
                )
                await connection.execute(
                    insert(nudge_settings), [nudge_row(u, zones[ZONES[u % len(ZONES)]], now) for u in chunk]
                )
                if planned:
                    await connection.execute(
                        insert(learning_plans),
                        [{"id": n, "user_id": u, "created_at": now, **plan_values} for n, u in planned],
                    )
                    await connection.execute(
                        insert(plan_steps), [{"plan_id": n, **step} for n, _ in planned for step in steps]
                    )
        # the bot must see exactly what a user who opted in through /nudges would have stored
        assert len(await store.nudges.enabled()) == count
        for uid in ids[: 2 * len(ZONES)]:
            assert await store.nudges.get(uid) == zones[ZONES[uid % len(ZONES)]], uid
            assert await store.plans.active(uid) == (plan if uid % 2 == 0 else None), uid
            assert await store.profiles.get(uid) == profile, uid


def peak_per_window(times: list[float], window: float = 1.0) -> int:
    """The most calls in any `window` seconds (a sliding window over the sorted call times)."""
    ordered, best, left = sorted(times), 0, 0
    for right, at in enumerate(ordered):
        while at - ordered[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best


def per_second(times: list[float], start: float) -> list[int]:
    """How many of `times` fall in each whole second from `start` on."""
    seconds = Counter(int(at - start) for at in times if at >= start)
    return [seconds.get(n, 0) for n in range(max(seconds, default=-1) + 1)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


@dataclass
class Run:
    due_at: float  # time.monotonic() when the bot's clock read DUE
    ready_at: float  # when `running` handed over the started bot
    finished: bool  # every nudge arrived and none was left pending before the bot stopped
    calls: list[tuple[int, float, bool, str]]  # sendMessage: chat, time, ok, text


def services_of(app: Application) -> BotServices:
    services: BotServices = app.bot_data
    return services


async def deliver(settings: Settings, advisor: Advisor, count: int, lead: float, settle: float) -> Run:
    """Start the bot `lead` seconds before DUE and wait until every nudge is sent and recorded."""
    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        settings = settings.model_copy(update={"telegram_base_url": api.base_url})
        clock = SettableClock(DUE - dt.timedelta(seconds=lead))
        app = build_application(settings, advisor=advisor, clock=clock)
        due_at = time.monotonic() + (DUE - clock()).total_seconds()
        # two and a half times what the rate limiter's 25 a second needs, and two minutes to start
        deadline = due_at + 120 + count / 10
        async with running(app, poll_timeout=1):
            ready_at = time.monotonic()
            scheduler = services_of(app).scheduler
            assert scheduler is not None
            week = iso_week(DUE, settings_in("UTC"))
            finished, seen, delivered = False, 0, 0
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                # counted incrementally: the server's own wait_for_messages rescans every call on every message
                fresh = api.calls[seen:]
                seen += len(fresh)
                delivered += sum(1 for c in fresh if c.method == "sendMessage" and c.ok)
                if delivered >= count:
                    await asyncio.sleep(settle)  # room for a duplicate to show up
                    counts = await scheduler.service.store.ledger.week_counts(week)
                    if counts["pending"] == 0:
                        finished = True
                        break
        calls = [
            (int(c.params["chat_id"]), c.at, c.ok, str(c.params.get("text", "")))
            for c in api.calls
            if c.method == "sendMessage"
        ]
        return Run(due_at, ready_at, finished, calls)
    finally:
        await api.stop()


async def ledger_counts(url: str) -> dict[str, dict[str, int]]:
    """Rows of the ledger by ISO week and status, read after the bot has stopped."""
    async with await Store.open(url) as store, store.engine.connect() as connection:
        rows = await connection.execute(
            select(nudge_ledger.c.week, nudge_ledger.c.status, func.count()).group_by(
                nudge_ledger.c.week, nudge_ledger.c.status
            )
        )
        result: dict[str, dict[str, int]] = {}
        for week, status, number in rows:
            result.setdefault(week, {})[status] = number
        return result


async def bench(count: int, lead: float, settle: float) -> dict[str, Any]:
    base = load_settings()
    with tempfile.TemporaryDirectory(prefix="nudge-bench-") as tmp:
        # the Bot API server's URL is set once it runs (deliver)
        settings = bot_settings(base, None, Path(tmp))
        assert settings.database_url is not None
        url = settings.database_url
        configure_logging(settings, quiet=True)
        advisor = build_advisor(settings)
        t0 = time.perf_counter()
        advisor.load()
        load_seconds = time.perf_counter() - t0
        profile = Profile(current_role="teacher", target_role="Data Analyst", hours_per_week=5)
        plan = build_plan(advisor.catalog, profile, OPTED_IN.date())
        t0 = time.perf_counter()
        await populate(url, count, plan, profile)
        populate_seconds = time.perf_counter() - t0
        assert latest_due(settings_in("UTC"), DUE - dt.timedelta(seconds=lead)) is None  # nothing late at start
        rss_before = peak_rss_mb()
        run = await deliver(settings, advisor, count, lead, settle)
        ledger = await ledger_counts(url)
    return summarise(run, count, ledger) | {
        "setup": {
            "advisor_load_seconds": round(load_seconds, 2),
            "populate_seconds": round(populate_seconds, 2),
            "plan_steps": len(plan.steps),
            "zones": list(ZONES),
            "due_utc": DUE.isoformat(),
            "clock_lead_seconds": lead,
        },
        "peak_rss_mb": {"before_bot": round(rss_before, 1), "end": round(peak_rss_mb(), 1)},
    }


def summarise(run: Run, count: int, ledger: dict[str, dict[str, int]]) -> dict[str, Any]:
    sent = [(chat, at, text) for chat, at, ok, text in run.calls if ok]
    times = [at for _, at, _ in sent]
    per_chat = Counter(chat for chat, _, _ in sent)
    expected = {FIRST_USER_ID + n for n in range(count)}
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    return {
        "users": count,
        "finished": run.finished,
        "delivered": len(sent),
        "failed_calls": sum(1 for _, _, ok, _ in run.calls if not ok),
        "duplicates": sum(1 for n in per_chat.values() if n > 1),
        "losses": len(expected - set(per_chat)),
        "strangers": len(set(per_chat) - expected),
        "no_plan_nudges": sum(1 for _, _, text in sent if NO_PLAN_MARK in text),
        "bot_ready_after_due_seconds": round(run.ready_at - run.due_at, 2),
        "sent_before_due": sum(1 for at in times if at < run.due_at),
        "first_after_due_seconds": round(min(times) - run.due_at, 2) if times else None,
        "last_after_due_seconds": round(max(times) - run.due_at, 2) if times else None,
        "peak_per_second": peak_per_window(times),
        "mean_per_second": round(len(times) / span, 2) if span else None,
        # nudges per whole second counted from the due instant: where the peak and any stall happened
        "per_second_after_due": per_second(times, run.due_at),
        "ledger": ledger,
    }


def print_table(result: dict[str, Any], out: Path) -> None:
    machine = result["machine"]
    print(f"machine: {machine['cores']} cores, {machine['cpu']}; python {machine['python']}")
    setup = result["setup"]
    print(
        f"{result['users']} users in {len(setup['zones'])} zones, due {setup['due_utc']}; "
        f"advisor load {setup['advisor_load_seconds']:.2f} s, bulk insert {setup['populate_seconds']:.2f} s\n"
    )
    ledger = "; ".join(
        f"{week}: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        for week, counts in sorted(result["ledger"].items())
    )
    rows = [
        ("users opted in", result["users"]),
        ("nudges delivered", result["delivered"]),
        ("  of which without a plan", result["no_plan_nudges"]),
        ("failed sendMessage calls", result["failed_calls"]),
        ("duplicates (chats with >1 nudge)", result["duplicates"]),
        ("losses (opted in, no nudge)", result["losses"]),
        ("bot ready, s after due", result["bot_ready_after_due_seconds"]),
        ("nudges sent before due", result["sent_before_due"]),
        ("first nudge, s after due", result["first_after_due_seconds"]),
        ("last nudge, s after due", result["last_after_due_seconds"]),
        ("peak rate, msgs in any 1 s", result["peak_per_second"]),
        ("mean rate, msgs/s (first to last)", result["mean_per_second"]),
        ("ledger by week", ledger or "empty"),
        ("peak RSS MB (before bot / end)", f"{result['peak_rss_mb']['before_bot']} / {result['peak_rss_mb']['end']}"),
    ]
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if not result["finished"]:
        print("\nNOT FINISHED: the deadline passed before every nudge was sent and recorded")
    print(f"\nwritten: {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nudges", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="opted-in users, all due in the same minute")
    parser.add_argument("--lead", type=float, default=2.0, help="seconds before the due instant the bot starts")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch for duplicates after the last")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the figures")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    result = {
        "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version()},
        **asyncio.run(bench(args.users, args.lead, args.settle)),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print_table(result, args.json)
    ok = result["finished"] and result["duplicates"] == result["losses"] == result["sent_before_due"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
