"""Sending replies to a Telegram chat: HTML pieces under the size limit, buttons under the last one."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.dialog.replies import Reply
from bot.rendering import render_answer, render_text


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


async def send_replies(bot: Bot, chat_id: int, replies: list[Reply]) -> None:
    for reply in replies:
        pieces = render_answer(reply.answer) if reply.answer is not None else render_text(reply.text)
        for index, piece in enumerate(pieces):
            markup = keyboard(reply) if index == len(pieces) - 1 else None
            await bot.send_message(
                chat_id, piece, parse_mode=ParseMode.HTML, disable_web_page_preview=True, reply_markup=markup
            )
