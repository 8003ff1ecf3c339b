"""Delivering weekly nudges through python-telegram-bot's JobQueue.

Jobs live in memory only, so they are rebuilt from the database whenever the bot starts. Whether a
nudge may be sent is decided by the ledger (`NudgeService.claim`), never by the job: a second
process, a restart or a retry finds the week already claimed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, Job, JobQueue

from bot.nudges.service import Claimed, Due, NudgeService, Startup
from bot.telegram.requests import BEFORE_SENDING, NotSent, lost_on_the_way, never_reached_telegram
from bot.telegram.sending import send_replies

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 2.0
# Claims and sends in flight at once; the rate limiter paces the sends, this bounds database connections.
DELIVERY_CONCURRENCY = 8
# A claimed nudge with no send attempt after this long belongs to a process that died; another takes it.
CLAIM_LEASE = dt.timedelta(minutes=2)


class NudgeScheduler:
    def __init__(
        self,
        app: Application,
        service: NudgeService,
        *,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        claim_lease: dt.timedelta = CLAIM_LEASE,
    ) -> None:
        self.app = app
        self.service = service
        self.retry_base_seconds = retry_base_seconds
        self.max_attempts = max_attempts
        self.claim_lease = claim_lease
        self._takeover: Job[Any] | None = None
        self._slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        # The scheduler's own lookups walk every job; with thousands of users that is quadratic, so
        # the jobs this scheduler made are indexed here by name and by user.
        self._by_name: dict[str, Job[Any]] = {}
        self._by_user: dict[int, set[str]] = {}
        self._in_flight = 0  # deliveries between their job firing and their outcome being recorded

    @property
    def _jobs(self) -> JobQueue[Any]:
        if self.app.job_queue is None:
            raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
        return self.app.job_queue

    async def rebuild(self) -> Startup:
        """Schedule every opted-in user's nudges from the database (at start, or after the clock moved)."""
        for job in self._by_name.values():
            job.schedule_removal()
        self._by_name.clear()
        self._by_user.clear()
        if self._takeover is None:
            every = self.claim_lease.total_seconds() / 2
            self._takeover = self._jobs.run_repeating(self._take_over_job, interval=every, first=every)
        startup = await self.service.startup()
        for due in [*startup.send_now, *startup.upcoming]:
            self._schedule(due)
        logger.info(
            "nudges scheduled by %s: %d now, %d upcoming, %d missed",
            self.service.owner,
            len(startup.send_now),
            len(startup.upcoming),
            len(startup.missed),
        )
        return startup

    async def reschedule(self, user_id: int) -> None:
        """After the user changed their nudge settings (or was forgotten)."""
        self.cancel(user_id)
        due = await self.service.upcoming(user_id)
        if due is not None:
            self._schedule(due)

    def cancel(self, user_id: int) -> None:
        for name in self._by_user.pop(user_id, set()):
            job = self._by_name.pop(name, None)
            if job is not None:
                job.schedule_removal()

    @property
    def scheduled(self) -> int:
        return len(self._by_name)

    def pending(self, within: dt.timedelta) -> int:
        """Nudges being delivered now, or due within `within`: zero means nothing goes out before then."""
        horizon = self.service.clock() + within
        due_soon = sum(1 for job in self._by_name.values() if isinstance(job.data, Due) and job.data.due_at <= horizon)
        return self._in_flight + due_soon

    def _schedule(self, due: Due) -> None:
        name = f"nudge:{due.user_id}:{due.week}"
        if name in self._by_name:
            return
        delay = max(0.0, (due.due_at - self.service.clock()).total_seconds())
        # a job that starts late (a busy loop, a slow start) still runs: the ledger decides if it sends
        job = self._jobs.run_once(self._run, when=delay, data=due, name=name, job_kwargs={"misfire_grace_time": None})
        self._by_name[name] = job
        self._by_user.setdefault(due.user_id, set()).add(name)

    def _forget_job(self, due: Due) -> None:
        name = f"nudge:{due.user_id}:{due.week}"
        self._by_name.pop(name, None)
        names = self._by_user.get(due.user_id)
        if names is not None:
            names.discard(name)
            if not names:
                del self._by_user[due.user_id]

    async def _run(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        job = context.job
        if job is None or not isinstance(job.data, Due):
            return
        due = job.data
        self._in_flight += 1
        try:
            self._forget_job(due)
            await self.deliver(due)
            following = await self.service.upcoming(due.user_id)
            if following is not None and following.week != due.week:
                self._schedule(following)
        finally:
            self._in_flight -= 1

    async def deliver(self, due: Due) -> str:
        """Claim, send and record one nudge; returns what happened (sent, skipped, failed, blocked)."""
        async with self._slots:
            claimed = await self.service.claim(due)
            if claimed is None:
                return "skipped"
            return await self._send(claimed)

    async def take_over_stale(self) -> int:
        """Send the nudges a process claimed and died before trying (another replica, or this one before a crash)."""
        self._in_flight += 1
        try:
            taken = await self.service.take_over_stale(self.claim_lease)
            for claimed in taken:
                async with self._slots:
                    await self._send(claimed)
        finally:
            self._in_flight -= 1
        return len(taken)

    async def _take_over_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.take_over_stale()

    async def _send(self, claimed: Claimed) -> str:
        due = claimed.due
        attempts, wait = 0, self.retry_base_seconds
        while True:
            attempts += 1
            # the attempt is recorded as the request leaves, after the rate limiter's wait: from then on
            # the nudge may reach the user and is never sent by anyone else
            marker = BEFORE_SENDING.set(lambda: self.service.begin_send(claimed))
            try:
                try:
                    await send_replies(self.app.bot, due.chat_id, [claimed.nudge.reply])
                finally:
                    BEFORE_SENDING.reset(marker)
            except NotSent:
                logger.info("a nudge was taken over by another process before it was sent; leaving it")
                return "skipped"
            except Forbidden as problem:
                await self.service.blocked(claimed, attempts, str(problem))
                return "blocked"
            except RetryAfter as problem:  # the rate limiter already waited and retried; wait as told
                delay = problem.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                if attempts >= self.max_attempts:
                    await self.service.failed(claimed, attempts, str(problem))
                    return "failed"
                await self.service.retrying(claimed, attempts, str(problem))
                await asyncio.sleep(seconds)
            except NetworkError as problem:  # the server's 5xx answers, and requests lost on the way
                if lost_on_the_way(problem) and not never_reached_telegram(problem):
                    # it may have arrived (no answer in time, a connection cut after sending): a
                    # second copy would be worse than none. What surely never got there (Telegram
                    # unreachable for longer than the send path's own retries) waits and goes again.
                    await self.service.failed(claimed, attempts, str(problem))
                    logger.warning("a nudge could not be delivered for certain: %s", problem)
                    return "failed"
                if attempts >= self.max_attempts:
                    await self.service.failed(claimed, attempts, str(problem))
                    logger.warning("a nudge failed after %d attempts: %s", attempts, problem)
                    return "failed"
                await self.service.retrying(claimed, attempts, str(problem))
                await asyncio.sleep(wait)
                wait *= 2
            except TelegramError as problem:  # a bad request will not get better by retrying
                await self.service.failed(claimed, attempts, str(problem))
                logger.warning("a nudge could not be sent: %s", problem)
                return "failed"
            else:
                await self.service.sent(claimed, attempts)
                return "sent"
