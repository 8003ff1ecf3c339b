"""/export: everything stored about a user, as a JSON file they can keep; the counterpart of /forget."""

from __future__ import annotations

import datetime as dt
import json
import logging

from bot.dialog.replies import Reply, UserRef
from bot.nudges.schedule import Clock, system_clock
from bot.store import Store
from bot.store.export import UserData

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SENT = "Here is everything I store about you, as a JSON file. /forget deletes all of it."
PRIVATE_ONLY = "Your data goes only to our private chat, not to a group: open a chat with me and send /export there."


class DataExport:
    def __init__(self, store: Store, *, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock

    async def export(self, user: UserRef, bot_name: str) -> list[Reply]:
        """The user's data as a file, sent only in their private chat (whose id is the user's own)."""
        if user.chat_id != user.user_id:
            return [Reply(PRIVATE_ONLY)]
        made = self.clock()
        data = await self.store.export.gather(user.user_id)
        document = export_document(data, user_id=user.user_id, bot_name=bot_name, made=made)
        logger.info("exported the data of a user on request")
        return [Reply(SENT, document=document, document_name=f"career-advisor-data-{made:%Y-%m-%d}.json")]


def export_document(data: UserData, *, user_id: int, bot_name: str, made: dt.datetime) -> bytes:
    """UTF-8 JSON, indented to be read, dates in ISO 8601, under a header that says what it is."""
    header = {
        "about": f"Everything {bot_name} stores about user {user_id}, exported at their request with /export.",
        "bot": bot_name,
        "user_id": user_id,
        "exported_at": made.isoformat(),
        "format_version": FORMAT_VERSION,
    }
    text = json.dumps({**header, "data": data}, indent=2, ensure_ascii=False, default=_iso)
    return text.encode("utf-8")


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"cannot put a {type(value).__name__} into an export")
