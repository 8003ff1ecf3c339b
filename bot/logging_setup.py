"""Logging: one format, quiet HTTP libraries, and filters that keep bot tokens and users' words out of every line."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from enum import Enum
from numbers import Number
from pathlib import PurePath
from typing import Any
from urllib.parse import quote
from uuid import UUID

from bot.config import Settings

# Telegram bot tokens: digits, a colon (or %3A, URL-encoded), then 30+ url-safe characters.
_TOKEN_PATTERN = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}")


def secret_forms(secret: str) -> list[str]:
    """The ways a secret shows up in text: as it is, URL-encoded, and a bot token's secret part on its own."""
    forms = [secret, quote(secret, safe="")]
    head, colon, tail = secret.partition(":")
    if colon and head.isdigit() and tail:
        forms.append(tail)  # the part after the bot id is the secret; the id alone is public
    # longest first, so that a token is replaced whole rather than leaving its id beside a redacted tail
    return sorted({form for form in forms if form}, key=len, reverse=True)


class RedactTokens(logging.Filter):
    """Replace bot tokens (the configured one and anything shaped like one) in messages and arguments."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        forms = {form for secret in secrets if secret for form in secret_forms(secret)}
        self.secrets = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return _TOKEN_PATTERN.sub("[REDACTED]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


# Values the code makes, never a person: kept as they are. Exceptions too: their text comes from the code
# or the Bot API, and debugging needs it.
_SAFE_SCALARS = (Number, Enum, BaseException, PurePath, dt.date, dt.time, dt.timedelta, UUID)

# String values under these keys are structure chosen by the code (chat type, parse mode, chat role, model
# name), never something a person wrote.
_STRUCTURAL_KEYS = frozenset({"type", "parse_mode", "role", "model"})


def hide_strings(value: Any, key: str | None = None, depth: int = 0) -> Any:
    """A copy of a payload with ids, numbers and structure kept and every free string replaced by its length."""
    if value is None or isinstance(value, _SAFE_SCALARS):
        return value
    if isinstance(value, str | bytes):
        return value if key in _STRUCTURAL_KEYS else f"[{len(value)} chars hidden]"
    if depth > 30:
        return "[nested too deep]"
    to_dict = getattr(value, "to_dict", None) or getattr(value, "model_dump", None)
    if callable(to_dict) and not isinstance(value, type):
        # a python-telegram-bot object or a pydantic model (an LLM SDK's request options)
        try:
            value = to_dict()
        except Exception:
            return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        return {str(k): hide_strings(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [hide_strings(item, key, depth + 1) for item in value]
    return f"<{type(value).__name__}>"


def _hide_argument(value: Any) -> Any:
    """Plain strings (endpoint names, URLs, prefixes) pass; payloads, JSON text included, lose their strings."""
    if isinstance(value, str):
        if not value.lstrip().startswith(("{", "[")):
            return value
        try:
            return hide_strings(json.loads(value), depth=1)
        except ValueError:
            return f"[{len(value)} chars hidden]"
    if value is None or isinstance(value, _SAFE_SCALARS):
        return value
    return hide_strings(value, depth=1)


class HideMessageText(logging.Filter):
    """Keep what users write out of the logs while user, chat and update ids stay (LOG_MESSAGE_TEXT off).

    python-telegram-bot logs whole payloads at DEBUG: every update it processes and every Bot API call with
    its parameters and result (getUpdates results hold the messages, sendMessage parameters the replies, which
    can quote the user), and some LLM SDKs log request bodies too. Raising those loggers to INFO would
    also lose which update, user and endpoint a problem concerns, and would depend on every library's choice
    of level. So instead the arguments of every record are rewritten before formatting: structured values
    keep their numbers and shape, their strings become lengths. Our own log calls pass ids, never text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "message_text_hidden", False):
            return True  # the same record reaches every handler; rewrite it once
        record.__dict__["message_text_hidden"] = True
        if not isinstance(record.msg, str):
            record.msg = str(_hide_argument(record.msg))
        if isinstance(record.args, Mapping):
            record.args = {k: _hide_argument(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_hide_argument(arg) for arg in record.args)
        return True


# python-telegram-bot's request logger: it logs an answer that is not JSON with the JSON parser's traceback
_PTB_REQUEST_LOGGER = "telegram.request.BaseRequest"


class ErrorPageAtDebug(logging.Filter):
    """An answer that is not JSON (a proxy's error page, a wrong TELEGRAM_BASE_URL) as one DEBUG line.

    python-telegram-bot logs it as an ERROR with the JSON parser's traceback, then raises an error that
    says the same and is handled or reported where it arrives; the page itself only helps when debugging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and str(record.msg).startswith("Can not load invalid JSON data")):
            return True
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def settings_secrets(settings: Settings) -> list[str]:
    """The secrets in the settings that no log line or error message may show."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    webhook_secret = settings.webhook_secret_token if settings.webhook_url and token else ""
    return [token, api_key, webhook_secret]


def install_redaction(secrets: list[str]) -> RedactTokens:
    """Attach the redacting filter to every handler of the root logger."""
    redactor = RedactTokens(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    level = "WARNING" if quiet and settings.log_level in ("DEBUG", "INFO") else settings.log_level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in (
        "httpx",
        "httpcore",
        "httpx2",
        "httpcore2",
        "chromadb",
        "sentence_transformers",
        "transformers",
        "urllib3",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    ptb_requests = logging.getLogger(_PTB_REQUEST_LOGGER)
    if not any(isinstance(f, ErrorPageAtDebug) for f in ptb_requests.filters):
        ptb_requests.addFilter(ErrorPageAtDebug())
    install_log_filters(settings)


def install_log_filters(settings: Settings) -> None:
    """Attach the privacy filters to every root handler: message text first, while arguments are still apart."""
    if not settings.log_message_text:
        hider = HideMessageText()
        for handler in logging.getLogger().handlers:
            handler.addFilter(hider)
    install_redaction(settings_secrets(settings))
