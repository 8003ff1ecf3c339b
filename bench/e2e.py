"""End to end through the Telegram Bot API: the real bot in this process, many users asking at once.

The real Application (build_application + running) polls the local Bot API server of the tests
over HTTP, with the advisor already loaded. Each run first asks the evaluation questions one at a
time from one chat (latency with no queue), then lets every simulated user send all their
questions at once. A ticker task on the same event loop, sleeping 5 ms at a time, records how late
it wakes: the longest stall is the longest time the loop could not serve anyone.

The bot paces every chat-bound request through AIORateLimiter at one per 1/25 s, as Telegram
requires, so replies per second cannot exceed about 25 and the time to answer a burst of N
questions is at least N/25 seconds: under the burst, latency is mostly time spent in that queue.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import TOKEN, BenchContext, peak_rss_mb
from bench.harness.botapi import FakeBotApi
from bench.report import cell, percentile, spread, table
from bench.telegram_load import (
    RATE_CAP_PER_SECOND,
    LoadPlan,
    analyse,
    ask_one_by_one,
    bot_settings,
    drive,
    plan_load,
)
from bot.logging_setup import configure_logging
from bot.telegram.app import build_application
from bot.telegram.lifecycle import running

DEFAULT_REPEATS = 3
TICK_SECONDS = 0.005
FIRST_SOLO_CHAT = 5_000_000


@dataclass
class StallMeter:
    """How late a task sleeping `interval` at a time wakes up: the event loop's stalls."""

    interval: float = TICK_SECONDS
    lateness: list[float] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lateness.append(time.perf_counter() - before - self.interval)

    def figures(self) -> dict[str, float]:
        late_ms = [x * 1000 for x in self.lateness] or [0.0]
        return {
            "max_ms": round(max(late_ms), 1),
            "p99_ms": round(percentile(late_ms, 99), 2),
            "ticks": len(late_ms),
            "ticks_late_over_50ms": sum(1 for x in late_ms if x > 50),
        }


async def one_run(ctx: BenchContext, plan: LoadPlan) -> dict[str, Any]:
    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            settings = bot_settings(ctx.settings, api.base_url, Path(tmp))
            configure_logging(settings, quiet=True)  # warnings only, with the token redacted, as in production
            app = build_application(settings, advisor=ctx.advisor)
            async with running(app, poll_timeout=1):
                solo = await ask_one_by_one(api, [q.text for q in ctx.questions], FIRST_SOLO_CHAT)
                meter = StallMeter()
                ticker = asyncio.create_task(meter.run())
                try:
                    load = await drive(api, plan, within=120 + plan.questions / 5)
                finally:
                    ticker.cancel()
    finally:
        await api.stop()
    return {"solo_latency_s": solo, "load": analyse(plan, load), "stall": meter.figures()}


async def run_async(ctx: BenchContext, plan: LoadPlan, repeats: int) -> list[dict[str, Any]]:
    return [await one_run(ctx, plan) for _ in range(repeats)]


def run(ctx: BenchContext, plan: LoadPlan | None = None) -> dict[str, Any]:
    repeats = ctx.repeats_or(DEFAULT_REPEATS)
    plan = plan or plan_load(ctx.advisor, ctx.questions)
    runs = asyncio.run(run_async(ctx, plan, repeats))
    loads = [r["load"] for r in runs]

    def over_runs(key: str, digits: int = 2) -> dict[str, float] | None:
        values = [load[key] for load in loads if load[key] is not None]
        return spread(values, digits) if values else None

    def latency_over_runs(key: str) -> dict[str, float] | None:
        values = [load["latency_s"][key] for load in loads if load["latency_s"][key] is not None]
        return spread(values, 3) if values else None

    solo_runs = [r["solo_latency_s"] for r in runs]
    return {
        "users": len(plan.chats),
        "questions_per_user": plan.questions // max(1, len(plan.chats)),
        "repeats": repeats,
        "rate_cap_per_second": RATE_CAP_PER_SECOND,
        "one_at_a_time_latency_ms": {
            "questions": len(ctx.questions),
            "p50": spread((1000 * percentile(s, 50) for s in solo_runs), 1),
            "p95": spread((1000 * percentile(s, 95) for s in solo_runs), 1),
            "mean": spread((1000 * statistics.fmean(s) for s in solo_runs), 1),
        },
        "burst": {
            "replies_per_second": over_runs("replies_per_second"),
            "outgoing_requests_per_second": over_runs("outgoing_requests_per_second"),
            "seconds_first_push_to_last_reply": over_runs("seconds_first_push_to_last_reply"),
            "seconds_at_rate_cap": over_runs("seconds_at_rate_cap"),
            "latency_p50_s": latency_over_runs("p50"),
            "latency_p95_s": latency_over_runs("p95"),
            "latency_max_s": latency_over_runs("max"),
            "loop_stall_max_ms": spread(r["stall"]["max_ms"] for r in runs),
            "loop_lateness_p99_ms": spread(r["stall"]["p99_ms"] for r in runs),
        },
        "per_run": runs,
        "bench_process_peak_rss_mb": peak_rss_mb(),
    }


def render(result: dict[str, Any]) -> str:
    burst, solo = result["burst"], result["one_at_a_time_latency_ms"]
    last = result["per_run"][-1]["load"]
    counts = [
        "/".join(str(r["load"][key]) for r in result["per_run"])
        for key in (
            "replies_complete",
            "replies_missing",
            "messages_unexpected",
            "order_violations",
            "chats_out_of_order",
            "photos",
        )
    ]
    outgoing = burst["outgoing_requests_per_second"]
    cap_used = f"{100 * outgoing['median'] / result['rate_cap_per_second']:.0f}%" if outgoing else "-"
    rows = [
        (
            f"one question at a time ({solo['questions']} questions): p50 / p95 ms",
            f"{cell(solo['p50'])} / {cell(solo['p95'])}",
        ),
        ("burst: replies/s (capped near 25 by the rate limiter)", cell(burst["replies_per_second"], digits=2)),
        ("burst: chat-bound requests/s (messages + photos)", cell(burst["outgoing_requests_per_second"], digits=2)),
        ("burst: share of the 25/s cap used", cap_used),
        ("burst: s from first push to last reply", cell(burst["seconds_first_push_to_last_reply"])),
        ("burst: least s the 25/s cap allows for those requests", cell(burst["seconds_at_rate_cap"])),
        ("burst: push -> reply p50 s", cell(burst["latency_p50_s"], digits=2)),
        ("burst: push -> reply p95 s", cell(burst["latency_p95_s"], digits=2)),
        ("burst: longest event-loop stall ms (5 ms ticker)", cell(burst["loop_stall_max_ms"])),
        ("burst: event-loop lateness p99 ms", cell(burst["loop_lateness_p99_ms"], digits=2)),
        ("replies complete, per run", f"{counts[0]} of {last['questions']}"),
        ("replies missing / unexpected messages, per run", f"{counts[1]} / {counts[2]}"),
        ("order violations / chats out of order, per run", f"{counts[3]} / {counts[4]}"),
        ("comparison pictures sent, per run", counts[5]),
    ]
    return (
        f"### End to end through the Bot API: {result['users']} users x {result['questions_per_user']} questions,"
        f" {result['repeats']} runs\n\n"
        + table(("measure", "median (min-max)"), rows)
        + "\n\nThe bot sends through AIORateLimiter at 25 chat-bound requests/s overall, as Telegram requires:"
        " a burst of 1000 questions cannot finish in under ~40 s, so burst latency is mostly that queue."
        " The one-at-a-time row is the latency of the path itself."
    )
