"""Telegram handlers: parse the update, call the assistant, send its replies. Nothing else."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatID, ChatType
from telegram.error import BadRequest, Conflict, NetworkError
from telegram.ext import ApplicationHandlerStop

from bot.dialog.callbacks import decode
from bot.dialog.replies import Reply, UserRef
from bot.telegram.context import BotContext, BotServices
from bot.telegram.sending import StreamedReply, send_replies

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
PRIVATE = "Sorry, this bot is private."
SLOW_DOWN = "You are sending messages faster than I can answer well. Please wait a minute."


def _user(update: Update) -> UserRef | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return UserRef(user_id=user.id, chat_id=chat.id, language_code=user.language_code)


async def send(update: Update, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is not None:
        await send_replies(chat.get_bot(), chat.id, replies)


def _text(update: Update) -> str:
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    bot_name = message.get_bot().username if message is not None else None
    # in a group the question starts with the bot's @name; the name is not part of the question
    return text.replace(f"@{bot_name}", " ").strip() if bot_name else text


def _args(context: BotContext) -> str:
    return " ".join(context.args or [])


# -- before every handler -----------------------------------------------------------------------------
async def gate(update: Update, context: BotContext) -> None:
    """Refuse users outside ALLOWED_USER_IDS, slow down floods, and skip what is not addressed to the bot."""
    user, chat, message = update.effective_user, update.effective_chat, update.message
    if update.edited_message is not None or update.edited_channel_post is not None:
        raise ApplicationHandlerStop  # an edit is not a new question; answering again would repeat the bot
    if user is None or (message is None and update.callback_query is None):
        # channel posts and changes of membership: no handler serves them, nor counts them as someone's
        raise ApplicationHandlerStop
    if _sent_as_chat(update):
        logger.info("not served: a message sent on behalf of a chat")
        raise ApplicationHandlerStop
    services = context.bot_data
    if not services.access.may_use(user.id):
        logger.info("refused user %s: not in ALLOWED_USER_IDS", user.id)
        if services.access.tell_refused(user.id):
            await _refuse(update, PRIVATE)
        elif update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop
    in_group = chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    if in_group and message is not None and not _addressed_to_bot(update, context):
        raise ApplicationHandlerStop
    decision = await context.limiter.take(user.id)  # counted in the store: every replica shares the limit
    if not decision.allowed:
        if decision.first_refusal:
            await _refuse(update, SLOW_DOWN)
        elif update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop


async def dropped(update: Update, services: BotServices, first: bool) -> None:
    """An update dropped before handling, its user having too many waiting: asked once to slow down."""
    user = update.effective_user
    told = first and user is not None and services.access.may_use(user.id) and not _sent_as_chat(update)
    if told:
        await _refuse(update, SLOW_DOWN)
    elif update.callback_query is not None:
        await update.callback_query.answer()  # the button's spinner stops either way


def _sent_as_chat(update: Update) -> bool:
    """Sent on behalf of a chat (anonymous admins, "send as channel"): all such share one user id and profile."""
    message, user = update.message, update.effective_user  # a press is by its presser, whoever the post is by
    if message is not None and message.sender_chat is not None:
        return True
    return user is not None and user.id in (ChatID.ANONYMOUS_ADMIN, ChatID.FAKE_CHANNEL, ChatID.SERVICE_CHAT)


def _addressed_to_bot(update: Update, context: BotContext) -> bool:
    """In groups the bot answers commands, replies to its own messages and messages that mention it."""
    message = update.message
    if message is None:
        return False
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return True
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
        return True
    return bool(context.bot.username) and f"@{context.bot.username}".lower() in text.lower()


async def _refuse(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=False)
    elif update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        await update.effective_chat.send_message(text)


# -- the questionnaire --------------------------------------------------------------------------------
# Where a user is in the questionnaire lives in the database and is read for every update, rather than
# in a ConversationHandler's memory: a restarted process, or another replica, continues it as it is.
async def start(update: Update, context: BotContext) -> None:
    """/start: the questionnaire for newcomers (resumed if interrupted), welcome back for others."""
    user = _user(update)
    if user is not None:
        replies, _ = await context.assistant.start(user)
        await send(update, replies)


async def questionnaire_button(update: Update, context: BotContext) -> None:
    """A button under a questionnaire question, or a profile button that asks one question again."""
    user, query = _user(update), update.callback_query
    if user is None or query is None or query.data is None:
        return
    await query.answer()
    action = decode(query.data)
    state = await context.assistant.onboarding_state(user)
    replies, next_state = await context.assistant.press(user, action, state)
    if next_state != state and action is not None and action.removes_buttons:
        await _remove_buttons(update)  # the question is answered; its buttons would only mislead
    await send(update, replies)


async def text(update: Update, context: BotContext) -> None:
    """Typed text: the answer to the open question, if one is open; otherwise a question to answer."""
    user = _user(update)
    if user is None:
        return
    state = await context.assistant.onboarding_state(user)
    if state is not None:
        replies, _ = await context.assistant.answer_step(user, state, _text(update), from_button=False)
        await send(update, replies)
    else:
        await _answer_question(update, context, user)


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: stop the questionnaire, keeping what was answered."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.cancel(user))


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


async def _answer_question(update: Update, context: BotContext, user: UserRef) -> None:
    """A free-text question, answered with the profile and the recent turns (streamed in LLM mode)."""
    if context.assistant.questions.llm is None:
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
    """/forget: offer to delete everything stored about the user; an open questionnaire stops."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.forget(user))
        if await context.assistant.onboarding_state(user) is not None:
            await context.assistant.cancel(user)


async def export(update: Update, context: BotContext) -> None:
    """/export: a JSON file of everything stored about the user."""
    user = _user(update)
    if user is not None:
        bot_name = f"{context.bot.first_name} (@{context.bot.username})"
        await send(update, await context.exports.export(user, bot_name))


async def roadmap(update: Update, context: BotContext) -> None:
    """/roadmap: the plan as a picture."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.roadmap(user))


async def nudges(update: Update, context: BotContext) -> None:
    """/nudges [on|off|snooze|DAY HH:MM]: the weekly check-in."""
    user = _user(update)
    if user is not None:
        await send(update, await context.assistant.nudges(user, _args(context)))


async def stats(update: Update, context: BotContext) -> None:
    """/stats: numbers for the bot's admins; to anyone else it answers as to an unknown command."""
    user = _user(update)
    if user is not None:
        await send(update, await context.admin.stats(user))


async def reindex(update: Update, context: BotContext) -> None:
    """/reindex (admins): rebuild the index from the knowledge base and switch to it."""
    user = _user(update)
    if user is not None:
        await send(update, await context.admin.reindex(user))


async def broadcast(update: Update, context: BotContext) -> None:
    """/broadcast TEXT (admins): a preview to confirm before anything is sent."""
    user = _user(update)
    if user is not None:
        parts = _text(update).split(maxsplit=1)  # the raw text, not context.args: line breaks are kept
        await send(update, await context.admin.broadcast(user, parts[1] if len(parts) > 1 else ""))


async def button(update: Update, context: BotContext) -> None:
    """Plan-step, nudge, confirmation, admin and expired buttons."""
    user, query = _user(update), update.callback_query
    if user is None or query is None or query.data is None:
        return
    await query.answer()
    action = decode(query.data)
    if action is not None and action.is_admin:
        replies = await context.admin.press(user, action)
    else:
        replies, _ = await context.assistant.press(user, action, None)
    if action is not None and action.removes_buttons:
        await _remove_buttons(update)
    await send(update, replies)


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and files: say what the bot accepts."""
    await send(update, [Reply("I can only read text messages. Type your question, or send /help for examples.")])


CONFLICT_MESSAGE = "another bot instance is polling Telegram with this token; stopping this one"


async def error_handler(update: object, context: BotContext) -> None:
    """Log the failure once and tell the user briefly, without details."""
    if isinstance(context.error, Conflict):
        # two pollers would steal each other's updates: the newcomer stops with one clear line
        if not context.bot_data.conflict:
            context.bot_data.conflict = True
            logger.error(CONFLICT_MESSAGE)
            context.application.stop_running()
        return
    if update is None and isinstance(context.error, NetworkError):
        logger.warning("polling Telegram failed (%s); retrying", context.error)  # the updater backs off
        return
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await update.effective_chat.send_message(APOLOGY)
        except Exception:
            logger.warning("could not send the apology either")
