"""The terminal chat: the same advisor as the Telegram bot, for trying it without a token."""

from __future__ import annotations

import sys
from collections import deque
from typing import TextIO

from bot.advisor import Turn
from bot.cli import render_plain
from bot.config import Settings
from bot.context import HISTORY_TURNS
from bot.prompts import Texts
from bot.services import build_advisor

NO_TOKEN_HINT = (
    "No TELEGRAM_BOT_TOKEN is set, so this is the terminal chat.\n"
    "To run the Telegram bot: open Telegram, talk to @BotFather, send /newbot, follow the steps,\n"
    "then put the token it gives you in .env as TELEGRAM_BOT_TOKEN=... and run `make run` again.\n"
)


def run_terminal_chat(
    settings: Settings, *, explain_token: bool = True, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> int:
    texts = Texts.load()
    if explain_token:
        out.write(NO_TOKEN_HINT + "\n")
    out.write("Loading the advisor...\n")
    out.flush()
    advisor = build_advisor(settings)
    advisor.load()
    out.write(texts.welcome + "\n\nType a question, /help for examples, or /quit to leave.\n")
    turns: deque[Turn] = deque(maxlen=HISTORY_TURNS)
    while True:
        out.write("\nyou> ")
        out.flush()
        line = stdin.readline()
        if not line:
            out.write("\n")
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit", "quit", "exit"):
            return 0
        if text == "/help":
            out.write(texts.help + "\n")
            continue
        if text == "/start":
            out.write(texts.welcome + "\n")
            continue
        answer = advisor.answer(text, None, tuple(turns))
        turns.append(answer.as_turn())
        out.write("\nadvisor> " + render_plain(answer) + "\n")
