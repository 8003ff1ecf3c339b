"""Who may talk to the bot, and how fast: checked before any handler runs, for messages and buttons alike."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.store import MessageRateRepository, RateDecision, StoreUnavailable

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
# Someone not on the allow-list is told the bot is private once in this time, however often they write.
REFUSAL_PERIOD_SECONDS = 3600.0
# Strangers remembered at most, so that a crowd of them cannot grow the memory without bound.
REFUSALS_REMEMBERED = 10_000


class SlowDownNotices:
    """Who has been asked to slow down during their current burst: asked once a burst, not once a refusal.

    A burst lasts while the user has updates in hand or waiting (the update processor opens and closes it).
    The processor's cap on waiting updates and the per-minute limit both ask users to slow down; whichever
    refuses first in a burst says so, the other stays silent.
    """

    def __init__(self) -> None:
        self._open: set[int] = set()
        self._told: set[int] = set()

    def burst_began(self, user_id: int) -> None:
        self._open.add(user_id)

    def burst_ended(self, user_id: int) -> None:
        self._open.discard(user_id)
        self._told.discard(user_id)

    def first(self, user_id: int) -> bool:
        """Whether to tell the user now: True once per burst (and always outside one, where nothing is tracked)."""
        if user_id in self._told:
            return False
        if user_id in self._open:  # remembered only while the burst lasts, so nothing piles up
            self._told.add(user_id)
        return True


class SharedRateLimiter:
    """Messages per user and minute, counted in the store, so every replica of the bot shares one allowance.

    The first refusal in a user's window is flagged so that it is announced, the rest are silent; which
    replica refused does not matter. Time is the wall clock's, the one clock that replicas agree on.
    With `notices`, a user already asked to slow down in this burst is not asked again.
    """

    def __init__(self, rate: MessageRateRepository, per_minute: int, notices: SlowDownNotices | None = None) -> None:
        self.per_minute = per_minute
        self._rate = rate
        self._notices = notices

    async def take(self, user_id: int) -> RateDecision:
        """Count the user's message; a database error lets it through, since refusing everyone is worse."""
        try:
            decision = await self._rate.take(user_id, dt.datetime.now(dt.UTC), self.per_minute, WINDOW_SECONDS)
        except (StoreUnavailable, OSError) as problem:
            logger.warning("could not count a message of user %s, so it is let through: %s", user_id, problem)
            return RateDecision(allowed=True)
        if decision.first_refusal and self._notices is not None and not self._notices.first(user_id):
            return RateDecision(allowed=False)
        return decision


class OncePer:
    """Whether something was done for a key within the last `seconds`, kept in this process's memory.

    The "this bot is private" refusal is throttled here rather than in the database: a row per stranger
    would store data about people who are not users, and a write for each of their messages is the very
    load the throttle is meant to spare. The cost is that each replica tells a stranger once per period.
    """

    def __init__(
        self, seconds: float, *, remembered: int = REFUSALS_REMEMBERED, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.remembered = remembered
        self._clock = clock
        self._last: dict[int, float] = {}  # key -> when, oldest first

    def first(self, key: int) -> bool:
        """True, and remembered, when nothing was done for `key` in the period; False otherwise."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return False
        self._last.pop(key, None)
        self._last[key] = now
        self._forget_old(now)
        return True

    def _forget_old(self, now: float) -> None:
        while self._last:  # oldest first: stop at the first one still in its period
            key, when = next(iter(self._last.items()))
            if now - when < self.seconds and len(self._last) <= self.remembered:
                break
            del self._last[key]


@dataclass(frozen=True)
class Access:
    allowed_user_ids: frozenset[int]
    admin_user_ids: frozenset[int]
    # who was told that the bot is private, and when
    refusals: OncePer = field(default_factory=lambda: OncePer(REFUSAL_PERIOD_SECONDS), compare=False, repr=False)

    def may_use(self, user_id: int) -> bool:
        # an empty allow-list means everyone; admins are always allowed
        return not self.allowed_user_ids or user_id in self.allowed_user_ids or user_id in self.admin_user_ids

    def tell_refused(self, user_id: int) -> bool:
        """Whether a refused user is to be told why: once per REFUSAL_PERIOD_SECONDS, not on every message."""
        return self.refusals.first(user_id)
