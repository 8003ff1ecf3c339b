"""The terminal chat: the same assistant, commands and database as the Telegram bot, without a token.

Buttons are shown as numbered choices; typing the number presses the button.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.cli import render_plain
from bot.config import Settings
from bot.dialog.admin import AdminDesk
from bot.dialog.assistant import Assistant
from bot.dialog.callbacks import ConfirmForget, decode
from bot.dialog.export import DataExport
from bot.dialog.replies import Button, Reply, UserRef
from bot.prompts import Texts
from bot.reindex import Reindexer
from bot.services import build_advisor, build_llm
from bot.store import Store

NO_TOKEN_HINT = (
    "No TELEGRAM_BOT_TOKEN is set, so this is the terminal chat.\n"
    "To run the Telegram bot: open Telegram, talk to @BotFather, send /newbot, follow the steps,\n"
    "then put the token it gives you in .env as TELEGRAM_BOT_TOKEN=... and run `make run` again.\n"
)
# The terminal speaks for one local person; Telegram ids are positive, so 0 never collides with one.
LOCAL_USER = UserRef(user_id=0, chat_id=0)
BOT_NAME = "Career advisor (terminal chat)"


class TerminalChat:
    def __init__(
        self,
        assistant: Assistant,
        texts: Texts,
        out: TextIO,
        user: UserRef = LOCAL_USER,
        charts_dir: Path = Path("data") / "charts",
        admin: AdminDesk | None = None,
        exports_dir: Path = Path("data") / "exports",
    ) -> None:
        self.assistant = assistant
        self.exports = DataExport(assistant.deps.store, clock=assistant.deps.clock)
        self.exports_dir = exports_dir
        # the person at the terminal runs the bot, so the admin commands are theirs
        self.admin = admin or AdminDesk(assistant.deps.store, texts, frozenset({user.user_id}))
        self.texts = texts
        self.out = out
        self.user = user
        self.charts_dir = charts_dir
        self.choices: list[Button] = []

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            text = render_plain(reply.answer) if reply.answer is not None else reply.text
            self.out.write(f"\nadvisor> {text}\n")
            if reply.image is not None:
                # a terminal cannot show the picture: it goes to a file whose path is printed
                self.charts_dir.mkdir(parents=True, exist_ok=True)
                path = self.charts_dir / reply.image_name
                path.write_bytes(reply.image)
                self.out.write(f"  (picture saved to {path})\n")
            if reply.document is not None:
                self.exports_dir.mkdir(parents=True, exist_ok=True)
                path = self.exports_dir / reply.document_name
                path.write_bytes(reply.document)
                path.chmod(0o600)  # personal data: for the person at this terminal only
                self.out.write(f"  (file saved to {path})\n")
            if reply.choices:
                self.choices = reply.choices
                for number, choice in enumerate(reply.choices, 1):
                    self.out.write(f"  {number}) {choice.label}\n")
        self.out.flush()

    def _delete_files(self) -> None:
        """The pictures and exports saved for the person at this terminal go with their data."""
        for path in [*self.charts_dir.glob("*.png"), *self.exports_dir.glob("*.json")]:
            path.unlink(missing_ok=True)

    async def handle(self, text: str) -> bool:
        """One typed line; False when the person wants to leave."""
        command, _, args = text.partition(" ")
        command = command.lower()
        assistant, user = self.assistant, self.user
        state = await assistant.onboarding_state(user)
        if text.isdigit() and self.choices and 1 <= int(text) <= len(self.choices):
            pressed = decode(self.choices[int(text) - 1].data)
            replies, _ = await assistant.press(user, pressed, state)
            if pressed == ConfirmForget(yes=True):
                self._delete_files()
            self.choices = []
            self.show(replies)
            return True
        if command in ("/quit", "/exit", "quit", "exit"):
            return False
        if command == "/start":
            self.show((await assistant.start(user))[0])
        elif command == "/help":
            self.show([Reply(self.texts.help)])
        elif command == "/profile":
            self.show(await assistant.profile(user))
        elif command == "/plan":
            self.show(await assistant.plan(user, args))
        elif command == "/roadmap":
            self.show(await assistant.roadmap(user))
        elif command == "/progress":
            self.show(await assistant.progress(user))
        elif command == "/compare":
            self.show(await assistant.compare(user, args))
        elif command == "/nudges":
            self.show(await assistant.nudges(user, args))
        elif command == "/stats":
            self.show(await self.admin.stats(user))
        elif command == "/reindex":
            self.show(await self.admin.reindex(user))
        elif command == "/export":
            self.show(await self.exports.export(user, BOT_NAME))
        elif command == "/forget":
            self.show(await assistant.forget(user))
        elif command == "/cancel":
            self.show(await assistant.cancel(user))
        elif command.startswith("/"):
            self.show([Reply(f"I don't know {command[:40]}. Here is what I can do:"), Reply(self.texts.help)])
        elif state is not None:
            self.show((await assistant.answer_step(user, state, text, from_button=False))[0])
        else:
            self.show(await assistant.ask(user, text))
        return True


async def _chat(settings: Settings, explain_token: bool, stdin: TextIO, out: TextIO) -> int:
    texts = Texts.load(settings.prompts_dir)
    if explain_token:
        out.write(NO_TOKEN_HINT + "\n")
    out.write("Loading the advisor...\n")
    out.flush()
    advisor = build_advisor(settings)
    await asyncio.to_thread(advisor.load)
    assert settings.database_url is not None
    async with await Store.open(settings.database_url) as store:
        # the terminal has no scheduler, so nudges are set here and sent by the Telegram bot
        assistant = Assistant(
            store,
            advisor,
            texts,
            llm=build_llm(settings),
            llm_daily_requests=settings.llm_daily_requests_per_user,
        )
        admin = AdminDesk(store, texts, frozenset({LOCAL_USER.user_id}), reindexer=Reindexer(settings, advisor))
        chat = TerminalChat(
            assistant,
            texts,
            out,
            charts_dir=settings.data_dir / "charts",
            admin=admin,
            exports_dir=settings.data_dir / "exports",
        )
        out.write("Type a question or a command (/start, /plan, /help ...); /quit leaves.\n")
        chat.show((await chat.assistant.start(chat.user))[0])
        while True:
            out.write("\nyou> ")
            out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                out.write("\n")
                return 0
            text = line.strip()
            if text and not await chat.handle(text):
                return 0


def run_terminal_chat(
    settings: Settings, *, explain_token: bool = True, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> int:
    return asyncio.run(_chat(settings, explain_token, stdin, out))
