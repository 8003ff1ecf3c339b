"""`python -m bot`: the Telegram bot, or a terminal chat when no token is set; `ask` for one-off questions."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from bot.llm.model import LLMConfigError
from bot.llm.prompts import PromptError
from bot.logging_setup import RedactTokens, configure_logging, settings_secrets
from ingest.embeddings import EmbeddingModelError
from ingest.index import IndexUnavailable
from ingest.vocabulary import VocabularyError

logger = logging.getLogger(__name__)

# Failures whose message already says what to fix.
_EXPLAINED = (IndexUnavailable, EmbeddingModelError, LLMConfigError, PromptError, VocabularyError)
# an error line stays readable even when an exception carries a whole page
_MAX_ERROR_CHARS = 500


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Career-advisor bot.")
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="answer a question (or one per line from stdin) and exit")
    ask.add_argument("question", nargs="?", help="the question; omit to read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("--profile", type=Path, help="a JSON file with a profile to apply")
    sub.add_parser("chat", help="the terminal chat, even when a token is set")
    return parser


def report(settings: Settings, problem: str) -> None:
    """One line on stderr, without secrets: tokens and keys, whole or URL-encoded, never leave the process."""
    line = " ".join(RedactTokens(settings_secrets(settings)).redact(problem).split())
    if len(line) > _MAX_ERROR_CHARS:
        line = line[: _MAX_ERROR_CHARS - 3] + "..."
    print(f"error: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings, quiet=args.command == "ask")
    try:
        return _run(args, settings)
    except KeyboardInterrupt:
        return 130
    except _EXPLAINED as error:
        report(settings, str(error))
        return 1
    except Exception as error:
        # Anything else is still one line: a traceback would reach stderr outside the redacting log handler,
        # and the messages of some libraries quote the token. The whole story is logged (redacted) at DEBUG.
        logger.debug("the bot stopped on an unexpected error", exc_info=True)
        report(settings, f"the bot stopped: {type(error).__name__}: {error}")
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "ask":
        from bot.cli import main_ask
        from bot.services import build_advisor, build_llm

        return main_ask(build_advisor(settings), args.question, args.profile, args.json, build_llm(settings))
    from bot.heap import cap_heap_arenas

    cap_heap_arenas()  # the chat and the bot run for days: before any thread allocates
    if args.command == "chat" or settings.telegram_bot_token is None:
        from bot.terminal import run_terminal_chat

        return run_terminal_chat(settings, explain_token=args.command != "chat")
    from bot.telegram.lifecycle import StartupError
    from bot.telegram.serving import run_bot

    try:
        return run_bot(settings)
    except StartupError as error:
        report(settings, str(error))
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
