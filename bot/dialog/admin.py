"""Commands for the bot's admins (ADMIN_USER_IDS): /stats, /reindex and /broadcast.

To anyone else each of them answers exactly as an unknown command does, so their existence is not
revealed; a forged admin button gets the same "expired" answer as any stale button.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.dialog.callbacks import EXPIRED, Action, AdminBroadcast, encode
from bot.dialog.replies import Button, Reply, UserRef
from bot.nudges.schedule import Clock, system_clock
from bot.prompts import Texts
from bot.store import Store

logger = logging.getLogger(__name__)

MAX_BROADCAST_CHARS = 3500  # leaves room under Telegram's 4096 for nothing to be cut


@dataclass(frozen=True)
class ReindexOutcome:
    ok: bool
    summary: str  # one line: what the ingest did, or why it failed
    index: str | None  # the index generation the bot answers from afterwards


Reindexer = Callable[[], Awaitable[ReindexOutcome]]
BroadcastStarter = Callable[[int, UserRef], Awaitable[None]]  # broadcast id, the admin to report to


class AdminDesk:
    def __init__(
        self,
        store: Store,
        texts: Texts,
        admin_ids: frozenset[int],
        *,
        clock: Clock = system_clock,
        reindexer: Reindexer | None = None,
        start_broadcast: BroadcastStarter | None = None,
    ) -> None:
        self.store = store
        self.texts = texts
        self.admin_ids = admin_ids
        self.clock = clock
        self.reindexer = reindexer
        self.start_broadcast = start_broadcast

    def is_admin(self, user: UserRef) -> bool:
        return user.user_id in self.admin_ids

    def unknown(self, command: str) -> list[Reply]:
        """What a non-admin sees: the same answer as for a command that does not exist."""
        return [Reply(f"I don't know {command}. Here is what I can do:"), Reply(self.texts.help)]

    async def stats(self, user: UserRef) -> list[Reply]:
        """/stats: users, opted-in users and this week's nudges."""
        if not self.is_admin(user):
            return self.unknown("/stats")
        year, week, _ = self.clock().date().isocalendar()
        counts = await self.store.ledger.week_counts(f"{year}-W{week:02d}")
        opted_in = len(await self.store.nudges.enabled())
        lines = [
            f"Users: {await self.store.users.count()}",
            f"Opted in to nudges: {opted_in}",
            f"Nudges in {year}-W{week:02d}: {counts['sent']} sent, {counts['failed']} failed, "
            f"{counts['missed']} missed, {counts['pending']} pending",
        ]
        return [Reply("\n".join(lines))]

    async def reindex(self, user: UserRef) -> list[Reply]:
        """/reindex: rebuild the index from knowledge/ and switch to it without a restart."""
        if not self.is_admin(user):
            return self.unknown("/reindex")
        if self.reindexer is None:
            return [Reply("Reindexing is not available here: run `python -m ingest`; the bot picks the index up.")]
        logger.info("admin %s asked for a reindex", user.user_id)
        outcome = await self.reindexer()
        if not outcome.ok:
            return [Reply(f"The index was not rebuilt: {outcome.summary}\nI keep answering from the current one.")]
        return [Reply(f"{outcome.summary}\nNow answering from {outcome.index or 'the new index'}.")]

    async def broadcast(self, user: UserRef, text: str) -> list[Reply]:
        """/broadcast TEXT: a preview with the number of recipients; nothing is sent before confirmation."""
        if not self.is_admin(user):
            return self.unknown("/broadcast")
        text = text.strip()
        if not text:
            return [Reply("Write the message after the command: /broadcast New guides on cloud careers are in.")]
        if len(text) > MAX_BROADCAST_CHARS:
            return [Reply(f"That is {len(text)} characters; a broadcast can have at most {MAX_BROADCAST_CHARS}.")]
        if self.start_broadcast is None:
            return [Reply("Broadcasts are sent by the Telegram bot, not from here.")]
        draft = await self.store.broadcasts.draft(user.user_id, text)
        recipients = await self.store.users.count()
        return [
            Reply("This message will be sent to every user of the bot:"),
            Reply(
                text,
                [
                    [
                        Button(f"Send to {recipients} users", encode(AdminBroadcast(draft, send=True))),
                        Button("Cancel", encode(AdminBroadcast(draft, send=False))),
                    ]
                ],
            ),
        ]

    async def press(self, user: UserRef, action: Action | None) -> list[Reply]:
        """An admin button: send or cancel a drafted broadcast."""
        if not self.is_admin(user):
            return [Reply(EXPIRED)]
        match action:
            case AdminBroadcast(broadcast_id, send=False):
                cancelled = await self.store.broadcasts.cancel(broadcast_id)
                return [Reply("Cancelled; nothing was sent." if cancelled else EXPIRED)]
            case AdminBroadcast(broadcast_id, send=True) if self.start_broadcast is not None:
                recipients = await self.store.broadcasts.start(broadcast_id)
                if recipients is None:  # a second tap, or already cancelled
                    return [Reply("That broadcast was already sent or cancelled.")]
                logger.info("admin %s started broadcast %s to %s users", user.user_id, broadcast_id, recipients)
                await self.start_broadcast(broadcast_id, user)
                return [Reply(f"Sending to {recipients} users. I will tell you when it is done.")]
        return [Reply(EXPIRED)]
