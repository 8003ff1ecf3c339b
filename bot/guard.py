"""Who may talk to the bot, and how fast: checked before any handler runs, for messages and buttons alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from bot.store import MessageRateRepository, RateDecision
from bot.store.tables import utcnow

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0


class SharedRateLimiter:
    """Messages per user and minute, counted in the store, so every replica of the bot shares one allowance.

    The first refusal in a user's window is flagged so that it is announced, the rest are silent; which
    replica refused does not matter. Time is the wall clock's, the one clock that replicas agree on.
    """

    def __init__(self, rate: MessageRateRepository, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = rate

    async def take(self, user_id: int) -> RateDecision:
        """Count the user's message; a database error lets it through, since refusing everyone is worse."""
        try:
            return await self._rate.take(user_id, utcnow(), self.per_minute, WINDOW_SECONDS)
        except (SQLAlchemyError, OSError) as problem:
            logger.warning("could not count a message of user %s, so it is let through: %s", user_id, problem)
            return RateDecision(allowed=True)


@dataclass(frozen=True)
class Access:
    allowed_user_ids: frozenset[int]
    admin_user_ids: frozenset[int]

    def may_use(self, user_id: int) -> bool:
        # an empty allow-list means everyone; admins are always allowed
        return not self.allowed_user_ids or user_id in self.allowed_user_ids or user_id in self.admin_user_ids
