"""One user floods the bot while another asks: the other's reply latency, with and without the flood.

    .venv/bin/python -m bench.flood [--flood 200] [--questions 20] [--slow 2.0] [--repeats 3]

The real Application polls the local Bot API server of the tests. User B asks `--questions` questions
one at a time, each after the previous reply is complete, once alone and once while user A floods:
before each of B's questions A sends an equal share of `--flood` questions, and every message the
bot sends A is answered by the server only `--slow` seconds later (slow handling at the outside edge,
as a slow network or language model would make it). B's latency is the time from pushing a question
to the last message of its reply. The bot keeps one of A's updates in hand and MAX_WAITING_PER_USER waiting, drops the
rest and asks A once to slow down, so B's latency should not depend on A's backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import TOKEN, BenchContext
from bench.harness.botproc import until
from bench.harness.held_chats import HeldChatsBotApi
from bench.report import cell, percentile, spread, table, target, write_json
from bench.telegram_load import bot_settings, plan_load
from bot.logging_setup import configure_logging
from bot.telegram.app import MAX_WAITING_PER_USER, PerChatOrder, build_application
from bot.telegram.handlers import SLOW_DOWN
from bot.telegram.lifecycle import running

DEFAULT_REPEATS = 3
FLOOD = 200
QUESTIONS = 20
SLOW_SECONDS = 2.0
FLOODER, ALONE, DURING = 7_100_001, 7_100_002, 7_100_003
P95_TARGET_S = 1.0
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "flood.json"


async def ask_in_turn(
    api: HeldChatsBotApi,
    chat: int,
    asked: list[str],
    expected: list[list[str]],
    before_each: Callable[[], Awaitable[None]] | None = None,
) -> list[float]:
    """Seconds from push to the last message of each reply; each question waits for the previous reply."""
    latencies, received = [], len(api.sent_messages(chat))
    for text, pieces in zip(asked, expected, strict=True):
        if before_each is not None:
            await before_each()
        received += len(pieces)
        pushed = time.monotonic()
        await api.send_text(text, chat_id=chat, first_name="Bench")
        await api.wait_for_messages(received, chat_id=chat, within=120)
        latencies.append(time.monotonic() - pushed)
    return latencies


async def one_run(ctx: BenchContext, flood: int, questions: int, slow: float) -> dict[str, Any]:
    per_question = -(-flood // questions)  # A's flood is spread over B's questions, so that it lasts while B asks
    alone = plan_load(ctx.advisor, ctx.questions, users=1, per_user=questions, first_chat=ALONE)
    during = plan_load(ctx.advisor, ctx.questions, users=1, per_user=questions, first_chat=DURING)
    api = HeldChatsBotApi(TOKEN)
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
            settings = bot_settings(ctx.settings, api.base_url, Path(tmp))
            # B's questions must all pass the per-minute limit: B's latency is what is measured, not the limit
            per_minute = max(settings.user_messages_per_minute, questions + 1)
            settings = settings.model_copy(update={"user_messages_per_minute": per_minute})
            configure_logging(settings, quiet=True)
            app = build_application(settings, advisor=ctx.advisor)
            assert isinstance(app.update_processor, PerChatOrder)
            processor = app.update_processor
            async with running(app, poll_timeout=1):
                quiet = await ask_in_turn(api, ALONE, alone.chats[ALONE], alone.expected[ALONE])

                api.slow_down(FLOODER, slow)
                texts, pushed = [q.text for q in ctx.questions], 0

                async def flood_more() -> None:  # A's next share of the flood, just before each of B's questions
                    nonlocal pushed
                    for _ in range(min(per_question, flood - pushed)):
                        await api.send_text(texts[pushed % len(texts)], chat_id=FLOODER, first_name="Flood")
                        pushed += 1

                started = time.monotonic()
                busy = await ask_in_turn(api, DURING, during.chats[DURING], during.expected[DURING], flood_more)
                asked_for = time.monotonic() - started
                flooder_replies_meanwhile = len(api.sent_messages(FLOODER))
                backlog_pending = processor.busy_keys > 0  # A's kept updates were still waiting or in hand

                drained = 120 + (MAX_WAITING_PER_USER + 1) * slow
                await until(lambda: processor.busy_keys == 0, within=drained, what="the flood's backlog to drain")
                sent = api.sent_messages(FLOODER)
    finally:
        await api.stop()
    return {
        "per_minute": per_minute,
        "alone_s": quiet,
        "during_flood_s": busy,
        "seconds_asking_during_flood": round(asked_for, 2),
        "flooder_backlog_pending_when_done": backlog_pending,
        "flooder_messages_while_asking": flooder_replies_meanwhile,
        "flooder_messages": len(sent),
        "flooder_slow_down_notices": sum(1 for m in sent if m.get("text") == SLOW_DOWN),
    }


async def run_async(ctx: BenchContext, repeats: int, flood: int, questions: int, slow: float) -> list[dict[str, Any]]:
    return [await one_run(ctx, flood, questions, slow) for _ in range(repeats)]


def run(
    ctx: BenchContext, *, flood: int = FLOOD, questions: int = QUESTIONS, slow: float = SLOW_SECONDS
) -> dict[str, Any]:
    repeats = ctx.repeats_or(DEFAULT_REPEATS)
    runs = asyncio.run(run_async(ctx, repeats, flood, questions, slow))

    def over_runs(key: str, q: int) -> dict[str, float]:
        return spread((percentile(r[key], q) for r in runs), 3)

    result: dict[str, Any] = {
        "flood": flood,
        "questions": questions,
        "flooder_reply_seconds": slow,
        "max_waiting_per_user": MAX_WAITING_PER_USER,
        "user_messages_per_minute": runs[0]["per_minute"],
        "repeats": repeats,
        "alone_p50_s": over_runs("alone_s", 50),
        "alone_p95_s": over_runs("alone_s", 95),
        "during_flood_p50_s": over_runs("during_flood_s", 50),
        "during_flood_p95_s": over_runs("during_flood_s", 95),
        "during_flood_max_s": spread((max(r["during_flood_s"]) for r in runs), 3),
        "per_run": runs,
    }
    result["targets"] = [
        target("other user's reply p95 during a flood, s", result["during_flood_p95_s"]["median"], P95_TARGET_S, "s")
    ]
    return result


def render(result: dict[str, Any]) -> str:
    per_run = result["per_run"]

    def each(key: str) -> str:
        return " / ".join(str(r[key]) for r in per_run)

    rows = [
        ("B alone: reply p50 / p95 s", f"{cell(result['alone_p50_s'], digits=3)} / {cell(result['alone_p95_s'], digits=3)}"),
        (
            "B during A's flood: reply p50 / p95 s",
            f"{cell(result['during_flood_p50_s'], digits=3)} / {cell(result['during_flood_p95_s'], digits=3)}",
        ),
        ("B during A's flood: slowest reply s", cell(result["during_flood_max_s"], digits=3)),
        ("s B spent asking during the flood, per run", each("seconds_asking_during_flood")),
        ("A's backlog still pending when B was done, per run", each("flooder_backlog_pending_when_done")),
        ("messages A got while B asked, per run", each("flooder_messages_while_asking")),
        ("messages A got in all / of them 'slow down', per run", " / ".join(
            f"{r['flooder_messages']}, {r['flooder_slow_down_notices']}" for r in per_run
        )),
    ]  # fmt: skip
    return (
        f"### One user floods: {result['flood']} messages from A (each reply answered {result['flooder_reply_seconds']}"
        f" s late), {result['questions']} questions from B, {result['repeats']} runs\n\n"
        + table(("measure", "median (min-max)"), rows)
        + f"\n\nA sends an equal share of the flood just before each of B's questions. A keeps 1 update in hand"
        f" and {result['max_waiting_per_user']} waiting; the rest are dropped and A is asked once per burst to slow"
        f" down. USER_MESSAGES_PER_MINUTE is {result['user_messages_per_minute']}, so that B is never refused."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=FLOOD, help="messages user A sends at once")
    parser.add_argument("--questions", type=int, default=QUESTIONS, help="questions user B asks, one at a time")
    parser.add_argument("--slow", type=float, default=SLOW_SECONDS, help="seconds each reply to A takes to answer")
    parser.add_argument("--repeats", type=int, help=f"runs (default {DEFAULT_REPEATS})")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the figures")
    args = parser.parse_args(argv)
    if args.flood < 1 or args.questions < 1 or (args.repeats is not None and args.repeats < 1):
        parser.error("--flood, --questions and --repeats must be at least 1")
    ctx = BenchContext(repeats=args.repeats)
    print("running flood ...", file=sys.stderr, flush=True)
    result = run(ctx, flood=args.flood, questions=args.questions, slow=args.slow)
    write_json(result, args.json)
    print(render(result))
    for t in result["targets"]:
        print(f"\ntarget: {t['name']} {t['value']} (limit {t['limit']}): {'met' if t['met'] else 'MISSED'}")
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
