"""Pacing the bot's sends under Telegram's limits, per process and, with replicas, for all of them together."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

# Telegram allows a bot about 30 messages a second in all; 25 leaves room for answers to button presses.
MESSAGES_PER_SECOND = 25
MAX_RETRIES = 3
# A slot is due at most one interval after the last send; a longer wait means clocks or data went wrong.
MAX_SLOT_WAIT_SECONDS = 1.0
MAX_SLOT_TRIES = 200
# After the shared budget failed to answer, sends go at the local pace for this long before it is asked again:
# a database that is down must not cost every message a connection timeout, nor the log a line per message.
UNAVAILABLE_PAUSE_SECONDS = 30.0

TakeSlot = Callable[[], Awaitable[float]]  # takes the shared slot: 0 when taken, else the seconds until it is due


class PacedRateLimiter(AIORateLimiter):
    """PTB's rate limiter, plus one pace shared with the bot's other replicas once `share` is called.

    Each process paces its own sends (one per 1/25 s rather than 25 a second: a bucket of 25 would let bursts
    reach 40+), waits out a RetryAfter and retries. That keeps one process under Telegram's limit, but two
    replicas at 25 a second each send 50. With a shared budget every send to a chat first takes the shared
    slot (bot/store/send_budget.py), waiting until it is due, so all replicas together keep the one pace. If
    the budget cannot be reached the send goes at the local pace: a late message is worse than a brief excess
    that Telegram answers with a RetryAfter, which is waited out.
    """

    def __init__(self, messages_per_second: float = MESSAGES_PER_SECOND, max_retries: int = MAX_RETRIES) -> None:
        super().__init__(overall_max_rate=1, overall_time_period=1 / messages_per_second, max_retries=max_retries)
        self.interval_seconds = 1 / messages_per_second
        self._take_slot: TakeSlot | None = None
        self._unavailable_until = 0.0  # monotonic time before which the shared budget is not asked

    def share(self, take_slot: TakeSlot) -> None:
        """Draw every later send to a chat from the shared budget that `take_slot` takes slots from."""
        self._take_slot = take_slot

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        take_slot = self._take_slot
        # Only sends to a chat count against the bot's message limit (the requests PTB's own pace applies to).
        if take_slot is None or data.get("chat_id") is None or time.monotonic() < self._unavailable_until:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        async def paced(*call_args: Any, **call_kwargs: Any) -> bool | JSONDict | list[JSONDict]:
            # inside the local pace and after any RetryAfter pause, so each attempt, retries too, takes a slot
            for _ in range(MAX_SLOT_TRIES):
                try:
                    wait = await take_slot()
                except Exception as problem:
                    self._unavailable_until = time.monotonic() + UNAVAILABLE_PAUSE_SECONDS
                    logger.warning(
                        "the shared sending pace is unavailable, sending at this process's pace for %.0f s: %s",
                        UNAVAILABLE_PAUSE_SECONDS,
                        problem,
                    )
                    break
                if wait <= 0:
                    break
                await asyncio.sleep(min(wait, MAX_SLOT_WAIT_SECONDS))
            else:  # every try lost the slot to another replica: fairness gives way to getting the message out
                logger.warning("no shared sending slot after %d tries; sending at this process's pace", MAX_SLOT_TRIES)
            return await callback(*call_args, **call_kwargs)

        return await super().process_request(paced, args, kwargs, endpoint, data, rate_limit_args)
