"""One sending pace for every replica: slots reserved in the database, and the rate limiter that waits for them."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.store import Store
from bot.telegram.pace import PacedRateLimiter

INTERVAL = 0.04  # 25 a second, the bot's pace


@pytest.fixture
async def two_replicas(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database, as two bot processes would open it."""
    async with await Store.open(database_url) as first, await Store.open(database_url) as second:
        yield first, second


async def test_senders_asking_at_once_take_slots_one_interval_apart(two_replicas: tuple[Store, Store]) -> None:
    first, second = two_replicas
    taken: list[float] = []

    async def sender(store: Store) -> None:
        while (wait := await store.send_budget.take(INTERVAL)) > 0:
            assert wait <= INTERVAL + 0.01  # the slot is never further away than one interval after the last send
            await asyncio.sleep(wait)
        taken.append(time.monotonic())

    await asyncio.gather(*(sender(store) for _ in range(10) for store in (first, second)))
    assert len(taken) == 20
    # twenty slots span at least nineteen intervals (less a little for when the first answer reached us)
    assert max(taken) - min(taken) >= 19 * INTERVAL * 0.9


async def test_the_slot_is_due_again_one_interval_after_it_was_taken(two_replicas: tuple[Store, Store]) -> None:
    first, second = two_replicas
    assert await first.send_budget.take(INTERVAL) == 0.0
    assert await second.send_budget.take(INTERVAL) > 0.0
    await asyncio.sleep(INTERVAL)  # the pace itself is what is tested here: an interval must pass
    assert await second.send_budget.take(INTERVAL) == 0.0


def _most_in_any_second(moments: list[float]) -> int:
    moments = sorted(moments)
    return max(bisect.bisect_left(moments, start + 1.0) - index for index, start in enumerate(moments))


async def test_two_limiters_sharing_a_budget_keep_one_pace(two_replicas: tuple[Store, Store]) -> None:
    """Each process's own pace is 25 a second; without the shared budget two of them send 50."""
    sent: list[float] = []

    async def send_message(**_: Any) -> bool:  # where the request would leave for Telegram
        sent.append(time.monotonic())
        return True

    limiters = []
    for store in two_replicas:
        limiter = PacedRateLimiter()
        limiter.share(lambda store=store: store.send_budget.take(INTERVAL))  # type: ignore[misc]
        await limiter.initialize()
        limiters.append(limiter)
    per_replica = 40
    await asyncio.gather(
        *(
            limiter.process_request(send_message, (), {}, "sendMessage", {"chat_id": 1000 + n}, None)
            for n in range(per_replica)
            for limiter in limiters
        )
    )
    assert len(sent) == 2 * per_replica
    # a slot is taken just before its request leaves, so a busy event loop can shift a send by a little: one of slack
    assert _most_in_any_second(sent) <= round(1 / INTERVAL) + 1


async def test_requests_without_a_chat_take_no_slot() -> None:
    reserved = 0

    async def counting() -> float:
        nonlocal reserved
        reserved += 1
        return 0.0

    async def answer_callback_query(**_: Any) -> bool:
        return True

    limiter = PacedRateLimiter()
    limiter.share(counting)
    await limiter.initialize()
    await limiter.process_request(
        answer_callback_query, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None
    )
    assert reserved == 0
    await limiter.process_request(answer_callback_query, (), {}, "sendMessage", {"chat_id": 5}, None)
    assert reserved == 1


async def test_a_budget_that_fails_is_not_asked_again_for_a_while() -> None:
    """A database that is down must not cost every message a timeout, nor the log a line per message."""
    asked = 0

    async def unreachable() -> float:
        nonlocal asked
        asked += 1
        raise ConnectionRefusedError("the database is down")

    sent = 0

    async def send_message(**_: Any) -> bool:
        nonlocal sent
        sent += 1
        return True

    limiter = PacedRateLimiter()
    limiter.share(unreachable)
    await limiter.initialize()
    for chat in range(5):
        await limiter.process_request(send_message, (), {}, "sendMessage", {"chat_id": chat}, None)
    assert (sent, asked) == (5, 1)
