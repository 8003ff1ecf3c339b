"""Telegram handlers: parse the update, call the assistant, send its replies. Nothing else."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.dialog.replies import Reply, UserRef
from bot.telegram_io import StreamedReply, send_replies

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
END = ConversationHandler.END


def _user(update: Update) -> UserRef | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return UserRef(user_id=user.id, chat_id=chat.id)


async def send(update: Update, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is not None:
        await send_replies(chat.get_bot(), chat.id, replies)


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message is not None else ""


def _args(context: BotContext) -> str:
    return " ".join(context.args or [])


# -- the onboarding conversation ------------------------------------------------------------------
async def start(update: Update, context: BotContext) -> object:
    """/start: the questionnaire for newcomers (resumed if interrupted), welcome back for others."""
    user = _user(update)
    if user is None:
        return END
    replies, state = await context.assistant.start(user)
    await send(update, replies)
    return state or END


async def edit_button(update: Update, context: BotContext) -> object:
    """A profile button: ask that one question again."""
    user, query = _user(update), update.callback_query
    if user is None or query is None or query.data is None:
        return END
    await query.answer()
    replies, state = await context.assistant.press(user, query.data, await context.assistant.onboarding_state(user))
    await send(update, replies)
    return state or END


async def step_button(update: Update, context: BotContext) -> object:
    """A button under a questionnaire question."""
    user, query = _user(update), update.callback_query
    if user is None or query is None or query.data is None:
        return END
    await query.answer()
    state = await context.assistant.onboarding_state(user)
    replies, next_state = await context.assistant.press(user, query.data, state)
    if next_state != state:
        await _remove_buttons(update)
    await send(update, replies)
    return next_state or END


async def step_text(update: Update, context: BotContext) -> object:
    """Typed text while a questionnaire question is open; a question once the questionnaire is over."""
    user = _user(update)
    if user is None:
        return END
    state = await context.assistant.onboarding_state(user)
    if state is None:  # the questionnaire ended elsewhere (/forget, another front end): just answer
        await send(update, await context.assistant.ask(user, _text(update)))
        return END
    replies, next_state = await context.assistant.answer_step(user, state, _text(update), from_button=False)
    await send(update, replies)
    return next_state or END


async def cancel(update: Update, context: BotContext) -> object:
    """/cancel: stop the questionnaire, keeping what was answered."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.cancel(user))
    return END


async def forget_during_onboarding(update: Update, context: BotContext) -> object:
    """/forget while a question is open: the questionnaire stops and the deletion is offered."""
    await forget(update, context)
    user = _user(update)
    if user is not None:
        await context.assistant.cancel(user)
    return END


async def _remove_buttons(update: Update) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest:  # the message is too old to edit, or has no buttons any more
        logger.debug("could not remove the buttons of an answered question")


# -- commands and free text ------------------------------------------------------------------------
async def help_command(update: Update, context: BotContext) -> None:
    """/help: every command, one line each, and example questions."""
    await send(update, [Reply(context.texts.help)])


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have."""
    command = _text(update).split()[0] if _text(update) else "That command"
    await send(update, [Reply(f"I don't know {command[:40]}. Here is what I can do:"), Reply(context.texts.help)])


async def question(update: Update, context: BotContext) -> None:
    """A free-text question, answered with the profile and the recent turns (streamed in LLM mode)."""
    user = _user(update)
    if user is None:
        return
    if context.assistant.llm is None:
        await send(update, await context.assistant.ask(user, _text(update)))
        return
    draft = StreamedReply(context.bot, user.chat_id)
    await draft.finish(await context.assistant.ask(user, _text(update), on_text=draft.update))


async def profile(update: Update, context: BotContext) -> None:
    """/profile: what the bot knows, with buttons to change it."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.profile(user))


async def plan(update: Update, context: BotContext) -> None:
    """/plan (or /plan new): the week-by-week plan toward the target."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.plan(user, _args(context)))


async def progress(update: Update, context: BotContext) -> None:
    """/progress: percent done and the next step, with buttons to mark it."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.progress(user))


async def compare(update: Update, context: BotContext) -> None:
    """/compare A vs B: the credentials side by side."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.compare(user, _args(context)))


async def forget(update: Update, context: BotContext) -> None:
    """/forget: offer to delete everything stored about the user."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.forget(user))


async def nudges(update: Update, context: BotContext) -> None:
    """/nudges [on|off|snooze|DAY HH:MM]: the weekly check-in."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.nudges(user, _args(context)))


async def stats(update: Update, context: BotContext) -> None:
    """/stats: numbers for the bot's admins."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.stats(user))


async def button(update: Update, context: BotContext) -> None:
    """Plan-step, confirmation and expired buttons."""
    user, query = _user(update), update.callback_query
    if user is None or query is None or query.data is None:
        return
    await query.answer()
    replies, _ = await context.assistant.press(user, query.data, None)
    if query.data.startswith(("n:", "f:")):
        await _remove_buttons(update)
    await send(update, replies)


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and files: say what the bot accepts."""
    await send(update, [Reply("I can only read text messages. Type your question, or send /help for examples.")])


async def error_handler(update: object, context: BotContext) -> None:
    """Log the failure once and tell the user briefly, without details."""
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await update.effective_chat.send_message(APOLOGY)
        except Exception:
            logger.warning("could not send the apology either")
