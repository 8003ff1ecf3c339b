"""Telegram handlers: parse the update, ask a service, render the reply. Nothing else."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode

from bot.context import BotContext
from bot.rendering import render_answer, render_text

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


async def _send(update: Update, messages: list[str]) -> None:
    message = update.effective_message
    if message is None:
        return
    for text in messages:
        await message.reply_text(text, parse_mode=ParseMode.HTML, disable_web_page_preview=True)


async def start(update: Update, context: BotContext) -> None:
    """Greet the user and say what the bot can do."""
    await _send(update, render_text(context.texts.welcome))


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands and example questions."""
    await _send(update, render_text(context.texts.help))


async def question(update: Update, context: BotContext) -> None:
    """Answer a free-text question with the advisor, using the chat's recent turns."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text.strip()
    if not text:
        await _send(update, render_text("Please write your question as text."))
        return
    if len(text) > MAX_QUESTION_CHARS:
        await _send(
            update,
            render_text(
                f"That message is too long for me ({len(text)} characters). Please ask in under {MAX_QUESTION_CHARS} characters."
            ),
        )
        return
    state = context.chat_state
    logger.info("question from user %s", update.effective_user.id if update.effective_user else "?")
    answer = await context.advisor.aanswer(text, None, tuple(state.turns))
    state.turns.append(answer.as_turn())
    await _send(update, render_answer(answer))


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and files: say what the bot accepts."""
    await _send(update, render_text("I can only read text messages. Type your question, or send /help for examples."))


async def error_handler(update: object, context: BotContext) -> None:
    """Log the failure once and tell the user briefly, without details."""
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(APOLOGY)
        except Exception:
            logger.warning("could not send the apology either")
