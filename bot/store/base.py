"""What every repository shares: the session factory, portable upserts and the user row they hang on."""

from __future__ import annotations

import datetime as dt
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
    """Create the user row when missing; True when it was created.

    Only a private chat is recorded as the user's chat: nudges and broadcasts go there, and must never go
    to a group the user wrote in. Given a group, the new row has no chat; given no chat at all (the
    repositories that do not know it), the private chat is assumed, its id being the user's.
    """
    now = utcnow()
    chat = user_id if chat_id is None else private_chat(user_id, chat_id)
    statement = (
        insert(dialect, users)
        .values(user_id=user_id, chat_id=chat, created_at=now, last_seen_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
        .returning(users.c.user_id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


# Every update marks its user as seen, but last_seen_at (what inactivity is measured by) moves at most once an
# hour: a write per message would be wasted on a value read once a day.
SEEN_RESOLUTION = dt.timedelta(hours=1)


def private_chat(user_id: int, chat_id: int | None) -> int | None:
    """`chat_id` when it is the user's private chat (Telegram gives that chat the user's id), else None."""
    return chat_id if chat_id == user_id else None
