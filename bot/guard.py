"""Who may talk to the bot, and how fast: checked before any handler runs, for messages and buttons alike."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
# Idle users are swept out every so many checks, so memory follows active users, not all users ever seen.
SWEEP_EVERY = 1000


@dataclass
class RateLimiter:
    """A sliding one-minute window per user; the first refusal in a window is announced, the rest are silent."""

    per_minute: int
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _warned: dict[int, float] = field(default_factory=dict)
    _calls: int = 0

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._calls += 1
        if self._calls % SWEEP_EVERY == 0:
            self.forget_idle(now)
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= WINDOW_SECONDS:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True

    def should_warn(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._warned.get(user_id, -WINDOW_SECONDS) < WINDOW_SECONDS:
            return False
        self._warned[user_id] = now
        return True

    def forget_idle(self, now: float | None = None) -> None:
        """Drop users with no recent messages, so memory stays bounded by active users."""
        now = time.monotonic() if now is None else now
        for user_id in [u for u, w in self._seen.items() if not w or now - w[-1] >= WINDOW_SECONDS]:
            del self._seen[user_id]
            self._warned.pop(user_id, None)


@dataclass(frozen=True)
class Access:
    allowed_user_ids: frozenset[int]
    admin_user_ids: frozenset[int]

    def may_use(self, user_id: int) -> bool:
        # an empty allow-list means everyone; admins are always allowed
        return not self.allowed_user_ids or user_id in self.allowed_user_ids or user_id in self.admin_user_ids
