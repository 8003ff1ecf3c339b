"""Many users asking at once through the local Bot API server, and what arrived, when, and in which order.

A plan gives every simulated user a few questions from the evaluation set and works out, with the
advisor itself, the exact messages each chat should receive: each answer is computed with the
chat's earlier turns as history, as the bot's assistant does, and rendered as the bot renders it.
That lets every sendMessage be attributed to the question it answers, so lost, unexpected and
out-of-order replies can be counted rather than guessed.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import TOKEN, Question
from bench.harness.botapi import FakeBotApi
from bench.report import percentile
from bot.advisor import Advisor, Turn
from bot.config import Settings, load_settings
from bot.dialog.assistant import HISTORY_TURNS
from bot.telegram.rendering import render_answer

USERS = 200
QUESTIONS_PER_USER = 5
FIRST_CHAT = 6_000_000
SEED = 20261207
# The bot's AIORateLimiter lets one chat-bound request through every 1/25 s (bot/telegram/app.py).
RATE_CAP_PER_SECOND = 25.0
LIMITED_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "sendChatAction")


@dataclass
class LoadPlan:
    chats: dict[int, list[str]]  # chat id -> its questions, in the order the user sends them
    expected: dict[int, list[list[str]]]  # chat id -> per question, the HTML messages that answer it

    @property
    def questions(self) -> int:
        return sum(len(qs) for qs in self.chats.values())

    @property
    def expected_messages(self) -> int:
        return sum(len(pieces) for per_chat in self.expected.values() for pieces in per_chat)


def plan_load(
    advisor: Advisor,
    questions: Sequence[Question],
    *,
    users: int = USERS,
    per_user: int = QUESTIONS_PER_USER,
    seed: int = SEED,
    first_chat: int = FIRST_CHAT,
) -> LoadPlan:
    """Draw each user's questions (distinct within a chat while the set allows) and the replies they should get."""
    rng = random.Random(seed)
    texts = [q.text for q in questions]
    chats: dict[int, list[str]] = {}
    for n in range(users):
        chosen = rng.sample(texts, per_user) if per_user <= len(texts) else rng.choices(texts, k=per_user)
        chats[first_chat + n] = chosen
    memo: dict[tuple[str, ...], tuple[list[str], Turn]] = {}
    expected: dict[int, list[list[str]]] = {}
    for chat, asked in chats.items():
        history: list[Turn] = []
        per_question = []
        for i, text in enumerate(asked):
            key = tuple(asked[: i + 1])
            if key not in memo:
                # the bot's users have no profile: these are their first messages
                answer = advisor.answer(text, None, history[-HISTORY_TURNS:])
                memo[key] = (render_answer(answer), answer.as_turn())
            pieces, turn = memo[key]
            per_question.append(pieces)
            history.append(turn)
        expected[chat] = per_question
    return LoadPlan(chats, expected)


def bot_settings(base: Settings, api_url: str | None, data_dir: Path) -> Settings:
    """The bot's settings for a benchmark: the index and model from the environment, the rest the benchmark's.

    The database is a new SQLite file in `data_dir`; `api_url` None leaves the Bot API URL to be set later.
    """
    return load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        **({"telegram_base_url": api_url} if api_url else {}),
        data_dir=data_dir,
        chroma_path=base.index_path,
        chroma_url=base.chroma_url or "",
        embedding_model=base.embedding_model,
        embedding_backend=base.embedding_backend,
        # the ONNX export already made for this checkout, not a new one in every run's data directory
        model_cache_dir=base.model_cache_path,
        llm_model="",
        allowed_user_ids="",
        admin_user_ids="",
        webhook_url="",
        http_port="",
        log_level="WARNING",
    )


@dataclass
class Arrival:
    method: str
    chat: int
    at: float
    text: str


@dataclass
class LoadRun:
    started: float  # monotonic, just before the first update was pushed
    pushed_at: dict[tuple[int, int], float]  # (chat, question index) -> monotonic
    arrivals: list[Arrival]
    finished: bool  # every expected message arrived before the deadline
    rss_samples_mb: list[float] = field(default_factory=list)


async def drive(api: FakeBotApi, plan: LoadPlan, *, within: float, settle: float = 1.0) -> LoadRun:
    """Every user sends all their questions at once; wait until every expected message has arrived."""
    seen = len(api.calls)  # calls from before the load (getMe, setMyCommands, ...) are not part of it
    pushed_at: dict[tuple[int, int], float] = {}

    async def user(chat: int, asked: list[str]) -> None:
        for index, text in enumerate(asked):
            pushed_at[(chat, index)] = time.monotonic()
            await api.send_text(text, chat_id=chat, first_name="Bench")

    started = time.monotonic()
    await asyncio.gather(*(user(chat, asked) for chat, asked in plan.chats.items()))
    deadline = started + within
    first, delivered, finished = seen, 0, False
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        # counted incrementally: rescanning every call on every poll grows with the square of the load
        fresh = api.calls[seen:]
        seen += len(fresh)
        delivered += sum(1 for c in fresh if c.method == "sendMessage" and c.ok)
        if delivered >= plan.expected_messages:
            finished = True
            await asyncio.sleep(settle)  # room for a duplicate or a stray message to show up
            break
    arrivals = [
        Arrival(c.method, int(c.params.get("chat_id", 0)), c.at, str(c.params.get("text", "")))
        for c in api.calls[first:]
        if c.ok and c.method in LIMITED_METHODS
    ]
    return LoadRun(started, pushed_at, arrivals, finished)


def analyse(plan: LoadPlan, run: LoadRun) -> dict[str, Any]:
    """Attribute every message to the question it answers; count what is missing, unexpected or out of order."""
    positions: dict[int, dict[str, deque[tuple[int, int]]]] = {}
    for chat, per_question in plan.expected.items():
        by_text: dict[str, deque[tuple[int, int]]] = defaultdict(deque)
        order = 0
        for index, pieces in enumerate(per_question):
            for piece in pieces:
                by_text[piece].append((order, index))
                order += 1
        positions[chat] = by_text
    unexpected = order_violations = 0
    chats_out_of_order: set[int] = set()
    last_position: dict[int, int] = {}
    pieces_seen: dict[tuple[int, int], list[float]] = defaultdict(list)
    messages = [a for a in run.arrivals if a.method == "sendMessage"]
    for arrival in messages:
        slots = positions.get(arrival.chat, {}).get(arrival.text)
        if not slots:
            unexpected += 1
            continue
        position, index = slots.popleft()
        if position < last_position.get(arrival.chat, -1):
            order_violations += 1
            chats_out_of_order.add(arrival.chat)
        last_position[arrival.chat] = max(position, last_position.get(arrival.chat, -1))
        pieces_seen[(arrival.chat, index)].append(arrival.at)
    latencies = []
    completed_at = []
    for chat, per_question in plan.expected.items():
        for index, pieces in enumerate(per_question):
            times = pieces_seen.get((chat, index), [])
            if len(times) == len(pieces):  # a reply is complete when its last piece is in
                completed_at.append(max(times))
                latencies.append(max(times) - run.pushed_at[(chat, index)])
    limited = len(run.arrivals)
    span = (max(completed_at) - run.started) if completed_at else 0.0
    outgoing_span = (max(a.at for a in run.arrivals) - min(a.at for a in run.arrivals)) if limited > 1 else 0.0
    return {
        "users": len(plan.chats),
        "questions": plan.questions,
        "finished": run.finished,
        "replies_complete": len(latencies),
        "replies_missing": plan.questions - len(latencies),
        "messages_expected": plan.expected_messages,
        "messages_unexpected": unexpected,
        "order_violations": order_violations,
        "chats_out_of_order": len(chats_out_of_order),
        "photos": sum(1 for a in run.arrivals if a.method in ("sendPhoto", "sendDocument")),
        "rate_limited_requests": limited,
        "seconds_first_push_to_last_reply": round(span, 2),
        "replies_per_second": round(len(latencies) / span, 2) if span else None,
        "outgoing_requests_per_second": round(limited / outgoing_span, 2) if outgoing_span else None,
        # the least time the bot's rate limiter allows for this many chat-bound requests
        "seconds_at_rate_cap": round(limited / RATE_CAP_PER_SECOND, 2),
        "latency_s": {
            "p50": round(percentile(latencies, 50), 3) if latencies else None,
            "p95": round(percentile(latencies, 95), 3) if latencies else None,
            "max": round(max(latencies), 3) if latencies else None,
            "mean": round(statistics.fmean(latencies), 3) if latencies else None,
        },
    }


async def ask_one_by_one(
    api: FakeBotApi, questions: Sequence[str], first_chat: int, *, within: float = 60.0
) -> list[float]:
    """Seconds from push to reply for questions sent one at a time, each after the previous reply: no queue.

    Each question comes from a new user, as in the burst, and so stays clear of the bot's per-user flood limit.
    """
    latencies = []
    for offset, text in enumerate(questions):
        chat = first_chat + offset
        pushed = time.monotonic()
        await api.send_text(text, chat_id=chat, first_name="Solo")
        await api.wait_for_messages(1, chat_id=chat, within=within)
        latencies.append(time.monotonic() - pushed)
        # the rest of a long reply must not be sent while the next question is timed: wait until all is quiet
        count = -1
        while count != len(api.calls):
            count = len(api.calls)
            await asyncio.sleep(0.2)
    return latencies
