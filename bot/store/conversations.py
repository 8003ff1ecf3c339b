"""Where each user is in a multi-step conversation (the questionnaire), so any process can continue it."""

from __future__ import annotations

import json

from sqlalchemy import delete, select

from bot.store.base import Repository, upsert
from bot.store.tables import conversation_states, utcnow

ConversationKey = tuple[int | str, ...]


class ConversationRepository(Repository):
    async def load(self, name: str) -> dict[ConversationKey, object]:
        """Every stored state of the conversation called `name`, by conversation key."""
        table = conversation_states
        async with self._sessions() as session, session.begin():
            rows = await session.execute(select(table.c.key, table.c.state).where(table.c.name == name))
            return {decode_key(key): state for key, state in rows}

    async def get(self, name: str, key: ConversationKey) -> object | None:
        """The stored state of one conversation, or None when it is not in progress."""
        table = conversation_states
        async with self._sessions() as session, session.begin():
            query = select(table.c.state).where(table.c.name == name, table.c.key == encode_key(key))
            return (await session.execute(query)).scalar_one_or_none()

    async def save(self, name: str, key: ConversationKey, state: object | None) -> None:
        """Store the state (JSON-serialisable) for `key`; None ends the conversation and deletes the row."""
        table = conversation_states
        encoded = encode_key(key)
        async with self._sessions() as session, session.begin():
            if state is None:
                await session.execute(delete(table).where(table.c.name == name, table.c.key == encoded))
                return
            values = {"name": name, "key": encoded, "user_id": key_user(key), "state": state, "updated_at": utcnow()}
            await upsert(session, self._dialect, table, values, key=["name", "key"])


def encode_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def decode_key(text: str) -> ConversationKey:
    return tuple(json.loads(text))


def key_user(key: ConversationKey) -> int | None:
    """The user a (chat_id, user_id) key belongs to; other key shapes name no single user."""
    if len(key) == 2 and all(isinstance(part, int) and not isinstance(part, bool) for part in key):
        user_id = key[-1]
        assert isinstance(user_id, int)
        return user_id
    return None
