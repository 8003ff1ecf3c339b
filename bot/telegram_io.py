"""Sending replies to a Telegram chat: HTML pieces under the size limit, buttons under the last one."""

from __future__ import annotations

import logging
import time

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.dialog.replies import Reply
from bot.rendering import render_answer, render_text

logger = logging.getLogger(__name__)

# A draft is plain text cut well under Telegram's 4096 characters; the final answer is split properly.
DRAFT_LIMIT = 3500


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


def rendered(reply: Reply) -> list[str]:
    """The reply as HTML messages under Telegram's size limit."""
    return render_answer(reply.answer) if reply.answer is not None else render_text(reply.text)


async def send_replies(bot: Bot, chat_id: int, replies: list[Reply]) -> None:
    for reply in replies:
        await _send_pieces(bot, chat_id, reply, rendered(reply))


async def _send_pieces(bot: Bot, chat_id: int, reply: Reply, pieces: list[str]) -> None:
    """Send the pieces with the reply's buttons under the last one, then its picture."""
    for index, piece in enumerate(pieces):
        markup = keyboard(reply) if index == len(pieces) - 1 else None
        await bot.send_message(
            chat_id, piece, parse_mode=ParseMode.HTML, disable_web_page_preview=True, reply_markup=markup
        )
    await send_image(bot, chat_id, reply)


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
        """Put the final replies in place of the draft (or send them, when no draft was shown)."""
        if self.message_id is None or not replies:
            await send_replies(self.bot, self.chat_id, replies)
            return
        first, rest = replies[0], replies[1:]
        pieces = rendered(first)
        try:
            await self.bot.edit_message_text(
                pieces[0],
                self.chat_id,
                self.message_id,
                parse_mode=ParseMode.HTML,
                disable_web_page_preview=True,
                reply_markup=keyboard(first) if len(pieces) == 1 else None,
            )
        except BadRequest:  # e.g. the draft was deleted meanwhile: send the answer as new messages
            await send_replies(self.bot, self.chat_id, replies)
            return
        await _send_pieces(self.bot, self.chat_id, first, pieces[1:])
        await send_replies(self.bot, self.chat_id, rest)
