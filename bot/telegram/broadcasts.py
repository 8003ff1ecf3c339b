"""Delivering an admin's broadcast to every user, resumable after a restart and never twice per user.

Recipients are claimed from the database in small batches (`BroadcastRepository.claim`), so two
replicas, or a restarted process, share one broadcast without sending anybody a second copy.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.error import TelegramError
from telegram.ext import Application

from bot.dialog.replies import Reply, UserRef
from bot.store import Store
from bot.telegram.sending import send_replies

logger = logging.getLogger(__name__)

BATCH = 20


class BroadcastSender:
    def __init__(self, app: Application, store: Store) -> None:
        self.app = app
        self.store = store
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def start(self, broadcast_id: int, admin: UserRef | None) -> None:
        """Send in the background; the admin hears the totals at the end."""
        if broadcast_id in self._tasks:
            return
        task = asyncio.create_task(self._send_all(broadcast_id, admin), name=f"broadcast-{broadcast_id}")
        self._tasks[broadcast_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(broadcast_id, None))

    async def resume(self) -> int:
        """At start-up: carry on with broadcasts a previous run left unfinished."""
        unfinished = await self.store.broadcasts.unfinished()
        for broadcast_id in unfinished:
            broadcast = await self.store.broadcasts.get(broadcast_id)
            admin = broadcast.created_by if broadcast is not None else None
            await self.start(broadcast_id, UserRef(admin, admin) if admin is not None else None)
        return len(unfinished)

    async def wait(self) -> None:
        """For shutdown and tests: until the broadcasts under way are done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _send_all(self, broadcast_id: int, admin: UserRef | None) -> None:
        broadcast = await self.store.broadcasts.get(broadcast_id)
        if broadcast is None:
            return
        message = Reply(broadcast.text)
        while batch := await self.store.broadcasts.claim(broadcast_id, BATCH):
            for recipient in batch:
                try:
                    await send_replies(self.app.bot, recipient.chat_id, [message])
                except TelegramError as problem:  # blocked, chat gone, or still failing after retries
                    await self.store.broadcasts.delivered(broadcast_id, recipient.user_id, str(problem))
                else:
                    await self.store.broadcasts.delivered(broadcast_id, recipient.user_id)
        if not await self.store.broadcasts.finish(broadcast_id):
            return  # another process is still sending part of it and will report
        counts = await self.store.broadcasts.counts(broadcast_id)
        logger.info("broadcast %s done: %s", broadcast_id, counts)
        if admin is None:
            return
        summary = f"Broadcast #{broadcast_id} is done: sent to {counts['sent']}, failed for {counts['failed']}."
        if counts["sending"]:
            summary += f" {counts['sending']} were cut off by a restart and not sent again."
        try:
            await send_replies(self.app.bot, admin.chat_id, [Reply(summary)])
        except TelegramError:
            logger.warning("could not tell the admin that broadcast %s is done", broadcast_id)
