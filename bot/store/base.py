"""What every repository shares: the session factory, portable upserts and the user row they hang on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.tables import users, utcnow


class Repository:
    """Base of the repositories: each public method opens its own session and transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessions = sessions
        self._dialect = dialect


def insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that understands ON CONFLICT; PostgreSQL and SQLite spell it the same way."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store supports PostgreSQL and SQLite, not {dialect}")


async def upsert(
    session: AsyncSession,
    dialect: str,
    table: Table,
    values: Mapping[str, Any],
    key: Sequence[str],
) -> None:
    """Insert `values`, or update every non-key column of the row that has the same `key`."""
    changes = {name: value for name, value in values.items() if name not in key}
    statement = insert(dialect, table).values(dict(values))
    await session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes))


async def ensure_user(session: AsyncSession, dialect: str, user_id: int, chat_id: int | None = None) -> bool:
    """Create the user row when missing (a private chat's id is the user's id); True when it was created."""
    now = utcnow()
    statement = (
        insert(dialect, users)
        .values(user_id=user_id, chat_id=user_id if chat_id is None else chat_id, created_at=now, last_seen_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
        .returning(users.c.user_id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None
