"""`python -m bot`: the Telegram bot, or a terminal chat when no token is set; `ask` for one-off questions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import SettingsError, load_settings
from bot.llm.model import LLMConfigError
from bot.llm.prompts import PromptError
from bot.logging_setup import configure_logging
from ingest.embeddings import EmbeddingModelError
from ingest.index import IndexUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Career-advisor bot.")
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="answer a question (or one per line from stdin) and exit")
    ask.add_argument("question", nargs="?", help="the question; omit to read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("--profile", type=Path, help="a JSON file with a profile to apply")
    sub.add_parser("chat", help="the terminal chat, even when a token is set")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings, quiet=args.command == "ask")
    try:
        if args.command == "ask":
            from bot.cli import main_ask
            from bot.services import build_advisor, build_llm

            return main_ask(build_advisor(settings), args.question, args.profile, args.json, build_llm(settings))
        from bot.memory import cap_heap_arenas

        cap_heap_arenas()  # the chat and the bot run for days: before any thread allocates
        if args.command == "chat" or settings.telegram_bot_token is None:
            from bot.terminal import run_terminal_chat

            return run_terminal_chat(settings, explain_token=args.command != "chat")
        from bot.serving import run_bot

        return run_bot(settings)
    except (IndexUnavailable, EmbeddingModelError, LLMConfigError, PromptError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
