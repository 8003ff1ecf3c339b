"""What every feature of the dialog shares, made once by `Assistant` and handed to each of them."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.advisor import Advisor
from bot.charts import ChartCache
from bot.nudges.schedule import Clock, system_clock
from bot.prompts import Texts
from bot.store import Store

logger = logging.getLogger(__name__)

UserHook = Callable[[int], Awaitable[None]]  # called with a user id after their data changed


@dataclass(frozen=True)
class DialogDeps:
    store: Store
    advisor: Advisor
    texts: Texts
    clock: Clock = system_clock
    on_forget: UserHook | None = None  # the front end stops anything it holds for the user (a scheduled nudge)
    on_nudges_changed: UserHook | None = None  # the front end reschedules the user's nudge
    charts: ChartCache = field(default_factory=ChartCache)

    def today(self) -> dt.date:
        return self.clock().date()

    async def draw(self, chart: Callable[[], bytes]) -> bytes | None:
        """A chart drawn off the event loop; a failure leaves the text answer on its own."""
        try:
            return await asyncio.to_thread(chart)
        except Exception:
            logger.exception("could not draw a chart; sending text only")
            return None
