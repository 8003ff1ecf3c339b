"""Logging: one format, quiet HTTP libraries, and a filter that keeps bot tokens out of every line."""

from __future__ import annotations

import logging
import re

from bot.config import Settings

# Telegram bot tokens: digits, a colon, then 30+ url-safe characters.
_TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


class RedactTokens(logging.Filter):
    """Replace bot tokens (the configured one and anything shaped like one) in messages and arguments."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return _TOKEN_PATTERN.sub("[REDACTED]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._clean(formatted)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(secrets: list[str]) -> RedactTokens:
    """Attach the redacting filter to every handler of the root logger."""
    redactor = RedactTokens(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    level = "WARNING" if quiet and settings.log_level in ("DEBUG", "INFO") else settings.log_level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("httpx", "httpcore", "chromadb", "sentence_transformers", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    install_redaction([token, api_key])
