"""Every row stored about one user, gathered for `/export`, table by table like `UserRepository.forget`.

Each table is either a section of the export or excluded with the reason; a table that is neither stops
the export, so a table added later cannot be left out of it unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.base import Repository
from bot.store.tables import metadata

UserData = dict[str, Any]  # section name -> a row, None, or a list of rows; a row is a dict of column values


@dataclass(frozen=True)
class Section:
    key: str  # the section's name in the export
    one: bool = False  # at most one row per user: exported as that row (or None), not as a list


SECTIONS: dict[str, Section] = {
    "users": Section("account", one=True),
    "profiles": Section("profile", one=True),
    "learning_plans": Section("plan", one=True),
    "plan_steps": Section("plan_steps"),  # through the user's plan
    "progress": Section("progress"),
    "conversation_turns": Section("conversation_turns"),
    "nudge_settings": Section("nudge_settings", one=True),
    "nudge_ledger": Section("nudge_history"),
    "llm_usage": Section("model_answers_per_day"),
    "message_rate": Section("message_rate", one=True),
    "conversation_states": Section("open_questionnaires"),
    "broadcasts": Section("broadcasts_written"),  # what the user, as an admin, sent to everyone
    "broadcast_deliveries": Section("broadcasts_received"),
}

# Tables that hold nothing about any one user, and why.
NOT_EXPORTED: dict[str, str] = {
    "processed_updates": "update ids and arrival times only, to handle each webhook update once; no user is named",
    "send_budget": "the bot's own pace of sending to Telegram; no user is named",
}


class UnmappedTable(Exception):
    """A table is neither a section of the export nor excluded from it."""


class ExportRepository(Repository):
    async def gather(self, user_id: int, tables: MetaData = metadata) -> UserData:
        """Every row about the user, by section, read in one transaction so the sections agree."""
        unmapped = [t.name for t in tables.sorted_tables if t.name not in SECTIONS and t.name not in NOT_EXPORTED]
        if unmapped:
            raise UnmappedTable(f"export does not know how {', '.join(unmapped)} relates to a user")
        data: UserData = {}
        async with self._sessions() as session, session.begin():
            for name, section in SECTIONS.items():  # in this order, the most telling sections first
                table = tables.tables.get(name)
                if table is None:
                    continue
                rows = await _rows(session, _about(table, tables, user_id))
                data[section.key] = (rows[0] if rows else None) if section.one else rows
        return data


def _about(table: Table, tables: MetaData, user_id: int) -> Select[Any]:
    """The rows of `table` about the user, in primary-key order."""
    if "user_id" in table.c:
        query = select(table).where(table.c.user_id == user_id)
    elif table.name == "plan_steps":
        plans = tables.tables["learning_plans"]
        query = select(table).where(table.c.plan_id.in_(select(plans.c.id).where(plans.c.user_id == user_id)))
    elif table.name == "broadcasts":
        query = select(table).where(table.c.created_by == user_id)
    else:
        raise UnmappedTable(f"export does not know how {table.name} relates to a user")
    return query.order_by(*table.primary_key.columns)


async def _rows(session: AsyncSession, query: Select[Any]) -> list[dict[str, Any]]:
    result = await session.execute(query)
    return [dict(row) for row in result.mappings()]
