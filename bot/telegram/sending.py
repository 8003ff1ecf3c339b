"""Sending replies to a Telegram chat: HTML pieces under the size limit, buttons under the last one.

Whatever the dialog layer hands over, one input never turns into more than MAX_MESSAGES_PER_REPLY new
messages: a long reply is cut (and says so), pictures go only where room is left. A burst of messages to
one chat invites a 429, and the rate limiter then holds back every chat's sends while it waits.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.dialog.replies import Reply
from bot.telegram.rendering import fit_messages, render_answer, render_text

logger = logging.getLogger(__name__)

# A draft is plain text cut well under Telegram's 4096 characters; the final answer is split properly.
DRAFT_LIMIT = 3500
# New messages (texts, photos, files) one input may produce, a streamed draft included.
MAX_MESSAGES_PER_REPLY = 3


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


def rendered(reply: Reply) -> list[str]:
    """The reply as HTML messages under Telegram's size limit."""
    return render_answer(reply.answer) if reply.answer is not None else render_text(reply.text)


@dataclass(frozen=True)
class Planned:
    """One reply as it will be sent: its HTML messages and whether its picture fits."""

    reply: Reply
    pieces: list[str]
    with_image: bool

    @property
    def count(self) -> int:
        return len(self.pieces) + int(self.with_image)


def plan_replies(replies: list[Reply], budget: int = MAX_MESSAGES_PER_REPLY) -> list[Planned]:
    """Share `budget` messages among the replies: every reply's first message, then the rest of the
    text in order, then pictures. A cut reply ends with a note saying so."""
    pieces = [rendered(reply) for reply in replies]
    allotted = [0] * len(replies)
    left = budget
    for index in range(len(replies)):
        if left:
            allotted[index], left = 1, left - 1
    for index, reply_pieces in enumerate(pieces):
        extra = min(len(reply_pieces) - allotted[index], left) if allotted[index] else 0
        allotted[index] += extra
        left -= extra
    images = [False] * len(replies)
    for index, reply in enumerate(replies):
        if reply.image is not None and allotted[index] and left:
            images[index], left = True, left - 1
    if not all(allotted):
        logger.warning("%s of %s replies did not fit in %s messages", allotted.count(0), len(replies), budget)
    planned = [
        Planned(reply, fit_messages(reply_pieces, count), image)
        for reply, reply_pieces, count, image in zip(replies, pieces, allotted, images, strict=True)
        if count
    ]
    wanted = sum(len(p) for p in pieces) + sum(r.image is not None for r in replies)
    if sum(p.count for p in planned) < wanted:
        logger.info("replies of %s messages were shortened to %s", wanted, budget)
    return planned


async def send_replies(bot: Bot, chat_id: int, replies: list[Reply], budget: int = MAX_MESSAGES_PER_REPLY) -> None:
    """The replies to one input, in at most `budget` new messages."""
    for planned in plan_replies(replies, budget):
        await _send_pieces(bot, chat_id, planned, planned.pieces)


async def _send_pieces(bot: Bot, chat_id: int, planned: Planned, pieces: list[str]) -> None:
    """Send the pieces with the reply's buttons under the last one, then its picture if it has room."""
    for index, piece in enumerate(pieces):
        markup = keyboard(planned.reply) if index == len(pieces) - 1 else None
        await bot.send_message(
            chat_id, piece, parse_mode=ParseMode.HTML, disable_web_page_preview=True, reply_markup=markup
        )
    if planned.with_image:
        await send_image(bot, chat_id, planned.reply)
    await send_document(bot, chat_id, planned.reply)


# Telegram shrinks photos to 2560 px on the long side; a taller picture keeps its text readable as a file.
MAX_PHOTO_SIDE = 2560


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG header (bytes 16-24 of the IHDR chunk)."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def send_image(bot: Bot, chat_id: int, reply: Reply) -> None:
    if reply.image is None:
        return
    width, height = png_size(reply.image)
    upload = InputFile(reply.image, filename=reply.image_name)
    if max(width, height) > MAX_PHOTO_SIDE:
        await bot.send_document(chat_id, upload)
    else:
        await bot.send_photo(chat_id, upload)


async def send_document(bot: Bot, chat_id: int, reply: Reply) -> None:
    """The reply's file (the /export data): what the user asked for, so it is sent whatever the budget."""
    if reply.document is not None:
        await bot.send_document(chat_id, InputFile(reply.document, filename=reply.document_name))


class StreamedReply:
    """Shows an answer while it is being written: one message, edited as text arrives.

    Edits are throttled (Telegram allows about one message update per second per chat); the final
    edit replaces the draft with the rendered answer, its sources and its buttons.
    """

    def __init__(self, bot: Bot, chat_id: int, *, interval_seconds: float = 1.0) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.interval_seconds = interval_seconds
        self.message_id: int | None = None
        self._shown = ""
        self._last_edit = 0.0

    async def update(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_edit < self.interval_seconds:
            return
        draft = text[:DRAFT_LIMIT] + " …"
        if draft == self._shown:
            return
        self._last_edit = now
        try:
            if self.message_id is None:
                message = await self.bot.send_message(self.chat_id, draft, disable_web_page_preview=True)
                self.message_id = message.message_id
            else:
                await self.bot.edit_message_text(draft, self.chat_id, self.message_id, disable_web_page_preview=True)
            self._shown = draft
        except TelegramError as problem:  # a draft that cannot be shown must not lose the answer
            logger.debug("could not update the streamed draft: %s", problem)

    async def finish(self, replies: list[Reply]) -> None:
        """Put the final replies in place of the draft (or send them, when no draft was shown).

        The draft is one of the input's messages, so the final replies share the same budget.
        """
        if self.message_id is None or not replies:
            await send_replies(self.bot, self.chat_id, replies)
            return
        planned = plan_replies(replies)
        first, rest = planned[0], planned[1:]
        try:
            await self.bot.edit_message_text(
                first.pieces[0],
                self.chat_id,
                self.message_id,
                parse_mode=ParseMode.HTML,
                disable_web_page_preview=True,
                reply_markup=keyboard(first.reply) if len(first.pieces) == 1 else None,
            )
        except BadRequest:
            # e.g. the draft is too old to edit or was deleted: it must not stay as the answer, so it goes
            await self._remove_draft()
            await send_replies(self.bot, self.chat_id, replies, MAX_MESSAGES_PER_REPLY - 1)
            return
        await _send_pieces(self.bot, self.chat_id, first, first.pieces[1:])
        for planned_reply in rest:
            await _send_pieces(self.bot, self.chat_id, planned_reply, planned_reply.pieces)

    async def _remove_draft(self) -> None:
        assert self.message_id is not None
        try:
            await self.bot.delete_message(self.chat_id, self.message_id)
        except TelegramError as problem:  # already gone, or too old: the answer still follows
            logger.debug("could not delete the streamed draft: %s", problem)
