"""Settings, read once from the environment and `.env`, validated before anything starts."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.embeddings import DEFAULT_MODEL

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_HTTP_PORT = 8080
LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
# The fewest days each retention setting may keep its data, when it is not 0 (keep for good). The ledger
# must outlive the weeks a weekly nudge is checked against; a user must be away for a while to be forgotten.
RETENTION_MINIMUM_DAYS = {
    "retention_turns_days": 1,
    "retention_ledger_days": 14,
    "retention_inactive_user_days": 30,
    "retention_questionnaire_days": 1,
}


def _id_list(value: Any) -> Any:
    """Accept "1, 2,3" as well as a list; empty means nobody is listed."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return [p for p in parts if p]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = Field(default=None, description="Bot token from @BotFather")
    telegram_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    chroma_path: Path | None = None
    chroma_url: str | None = None
    database_url: str | None = None
    embedding_model: str = DEFAULT_MODEL
    # torch: sentence-transformers on PyTorch, any model. onnx: an ONNX export of the same local model
    # in ONNX Runtime, made once under MODEL_CACHE_DIR; half the memory and a faster start. auto: onnx
    # when the model can be exported, else torch.
    embedding_backend: Literal["auto", "onnx", "torch"] = "auto"
    # Questions in other languages are read with this model (see ingest/multilingual.py); "none": as English
    multilingual_model: Literal["multilingual-e5-small", "none"] = "multilingual-e5-small"
    model_cache_dir: Path | None = None
    llm_model: str = ""
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    llm_daily_requests_per_user: int = Field(default=50, ge=0, le=100_000)
    # the longest answer (in tokens) a model may write; about 250 words are asked for, 800 leaves room
    llm_max_tokens: int = Field(default=800, ge=1, le=100_000)
    user_messages_per_minute: int = Field(default=20, ge=1, le=10_000)
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # a nudge claimed but not tried for this long is taken over from its (dead) process by another
    nudge_claim_lease_seconds: float = Field(default=120.0, ge=1, le=86_400)
    # Days kept before the daily clean-up deletes them; 0 keeps them for good (see RETENTION_MINIMUM_DAYS)
    retention_turns_days: int = Field(default=90, ge=0, le=36_500)
    retention_ledger_days: int = Field(default=400, ge=0, le=36_500)
    retention_inactive_user_days: int = Field(default=730, ge=0, le=36_500)
    retention_questionnaire_days: int = Field(default=30, ge=0, le=36_500)
    webhook_url: str | None = None  # set: Telegram pushes updates here instead of the bot polling
    webhook_secret: SecretStr | None = None  # default: derived from the bot token, the same on every replica
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65535)  # /healthz (and the webhook) listen here
    log_level: str = "INFO"
    log_message_text: bool = False
    # None: the repository's prompts/ when there is one, else ./prompts (see bot.prompts.resolve_prompts_dir)
    prompts_dir: Path | None = None

    @field_validator("prompts_dir", mode="before")
    @classmethod
    def _blank_dir_is_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_user_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        return _id_list(value)

    @field_validator("telegram_bot_token", "llm_api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "chroma_path",
        "model_cache_dir",
        "chroma_url",
        "database_url",
        "llm_base_url",
        "webhook_url",
        "webhook_secret",
        "http_port",
        mode="before",
    )
    @classmethod
    def _blank_url_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram tokens look like 123456789:AA...; catching a pasted URL or quote early saves a confusing 401.
        if value is not None:
            raw = value.get_secret_value().strip()
            head, _, tail = raw.partition(":")
            if not head.isdigit() or len(tail) < 20 or any(ch.isspace() for ch in raw):
                raise ValueError("does not look like a bot token from @BotFather (expected <digits>:<secret>)")
            return SecretStr(raw)
        return value

    @field_validator("telegram_base_url", "chroma_url", "llm_base_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - in a webhook secret token
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of letters, digits, _ and -")
        return value

    @field_validator("llm_model")
    @classmethod
    def _model_form(cls, value: str) -> str:
        value = value.strip()
        if value and ":" not in value:
            raise ValueError('must be "provider:model", e.g. openai:gpt-4o-mini or ollama:llama3.1')
        return value

    @field_validator(*RETENTION_MINIMUM_DAYS)
    @classmethod
    def _long_enough(cls, value: int, info: ValidationInfo) -> int:
        least = RETENTION_MINIMUM_DAYS[str(info.field_name)]
        if 0 < value < least:
            raise ValueError(f"must be 0 (keep for good) or at least {least} days")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(sorted(LOG_LEVELS))}")
        return level

    @model_validator(mode="after")
    def _derived_paths(self) -> Settings:
        if self.chroma_path is None:
            self.chroma_path = self.data_dir / "chroma"
        if self.webhook_url is not None and self.http_port is None:
            self.http_port = DEFAULT_HTTP_PORT
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'bot.sqlite3').as_posix()}"
        return self

    @property
    def model_cache_path(self) -> Path:
        """Where exported models (the ONNX backend's) are kept."""
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def index_path(self) -> Path:
        assert self.chroma_path is not None  # set by _derived_paths
        return self.chroma_path

    @property
    def bot_api_base_url(self) -> str:
        """The base URL PTB expects: it appends the token directly, so it must end in /bot."""
        base = self.telegram_base_url.rstrip("/")
        return base if base.endswith("/bot") else f"{base}/bot"

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to: the path of WEBHOOK_URL (a reverse proxy passes it through)."""
        return urlparse(self.webhook_url or "").path or "/"

    @property
    def webhook_secret_token(self) -> str:
        """The secret Telegram sends with every update; replicas sharing a token derive the same one."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        assert self.telegram_bot_token is not None
        key = self.telegram_bot_token.get_secret_value().encode()
        return hmac.new(key, b"career-advisor webhook secret", hashlib.sha256).hexdigest()

    @property
    def bot_api_file_url(self) -> str:
        return self.bot_api_base_url[: -len("/bot")] + "/file/bot"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
