"""The user store: everything the bot remembers about its users, on SQLite or PostgreSQL.

Handlers and services use only `Store` and its repositories; no other part builds queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.store.broadcasts import Broadcast, BroadcastRepository, Recipient
from bot.store.conversations import ConversationKey, ConversationRepository
from bot.store.engine import create_engine
from bot.store.errors import StoreUnavailable
from bot.store.export import ExportRepository
from bot.store.ledger import LedgerEntry, NudgeLedgerRepository
from bot.store.migrations import upgrade_to_head
from bot.store.nudges import NudgeSettings, NudgeSettingsRepository
from bot.store.plans import PlanRepository
from bot.store.profiles import ProfileRepository
from bot.store.progress import ProgressRepository
from bot.store.rate import MessageRateRepository, RateDecision
from bot.store.retention import Pruned, RetentionPolicy, RetentionRepository
from bot.store.send_budget import SendBudgetRepository
from bot.store.turns import TurnRepository
from bot.store.updates import ProcessedUpdateRepository
from bot.store.usage import LlmUsageRepository
from bot.store.users import UserRepository

__all__ = [
    "Broadcast",
    "BroadcastRepository",
    "ConversationKey",
    "ConversationRepository",
    "ExportRepository",
    "LedgerEntry",
    "LlmUsageRepository",
    "MessageRateRepository",
    "NudgeLedgerRepository",
    "NudgeSettings",
    "NudgeSettingsRepository",
    "PlanRepository",
    "ProcessedUpdateRepository",
    "ProfileRepository",
    "ProgressRepository",
    "Pruned",
    "RateDecision",
    "Recipient",
    "RetentionPolicy",
    "RetentionRepository",
    "SendBudgetRepository",
    "Store",
    "StoreUnavailable",
    "TurnRepository",
    "UserRepository",
]


class Store:
    """One database, its schema migrated to the newest revision, and a repository per kind of data."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        dialect = engine.dialect.name
        self.users = UserRepository(sessions, dialect)
        self.profiles = ProfileRepository(sessions, dialect)
        self.plans = PlanRepository(sessions, dialect)
        self.progress = ProgressRepository(sessions, dialect)
        self.turns = TurnRepository(sessions, dialect)
        self.nudges = NudgeSettingsRepository(sessions, dialect)
        self.conversations = ConversationRepository(sessions, dialect)
        self.ledger = NudgeLedgerRepository(sessions, dialect)
        self.llm_usage = LlmUsageRepository(sessions, dialect)
        self.message_rate = MessageRateRepository(sessions, dialect)
        self.updates = ProcessedUpdateRepository(sessions, dialect)
        self.broadcasts = BroadcastRepository(sessions, dialect)
        self.export = ExportRepository(sessions, dialect)
        self.retention = RetentionRepository(sessions, dialect)
        self.send_budget = SendBudgetRepository(sessions, dialect)

    @classmethod
    async def open(
        cls, url: str, *, schema: str | None = None, engine_options: Mapping[str, Any] | None = None
    ) -> Self:
        """Connect to `url` (an async SQLAlchemy URL) and apply pending migrations.

        `schema` (PostgreSQL only) keeps every table in that existing schema; `engine_options` go to
        `create_async_engine`.
        """
        engine = create_engine(url, schema=schema, **dict(engine_options or {}))
        try:
            await upgrade_to_head(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def ping(self) -> None:
        """A round trip to the database; raises when it is unreachable."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
