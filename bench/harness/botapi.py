"""A local Telegram Bot API server for tests: real HTTP on 127.0.0.1, scripted updates, recorded calls.

It implements the methods the bot calls (getMe, getUpdates, sendMessage, setMyCommands, ...) closely
enough for python-telegram-bot, and records every request so tests can assert on what was sent.
On cue it misbehaves like the real network: error answers, dropped connections, late answers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

BOT_ID = 7000001
BOT_USERNAME = "career_advisor_test_bot"
STOP_GRACE_SECONDS = 1.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    ok: bool = True  # False when the server answered with an error, or dropped the connection
    # what became of the answer: "dropped" when the connection was closed without one; a delayed
    # answer is "pending" while held back, then "received" or "abandoned" (the bot had hung up first);
    # an answer written at once counts as received
    answer: Literal["pending", "received", "dropped", "abandoned"] = "received"


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self.pushed = 0  # updates offered to the bot so far, for waiting until it has handled them all
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Condition()
        self._sent = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        # errors to answer instead of success, per method, in order; and chats whose user blocked the bot
        self._scripted_errors: dict[str, list[tuple[int, str, dict[str, Any] | None]]] = {}
        self.blocked_chats: set[int] = set()
        # network faults, per method, in order: connections to drop, and seconds to hold an answer back
        self._drops: dict[str, int] = {}
        self._delays: dict[str, list[float]] = {}
        self._released = asyncio.Condition()
        self._wakers: set[asyncio.Task[None]] = set()

    # -- server lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # On stop, a request still in flight belongs to a bot that is gone (killed, or stopped while it
        # long-polled): cancel it after a second instead of waiting out its poll or held answer.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=STOP_GRACE_SECONDS)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- what a user does ------------------------------------------------------------------------
    async def send_text(
        self,
        text: str,
        *,
        chat_id: int = 1001,
        user_id: int | None = None,
        first_name: str = "Ana",
        chat_type: str = "private",
        reply_to: dict[str, Any] | None = None,
        edited: bool = False,
    ) -> int:
        user_id = user_id or chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": first_name} if chat_type == "private" else {"title": "Study group"})
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "text": text,
        }
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to["_message_id"],
                "date": int(time.time()),
                "chat": chat,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Career Advisor"},
                "text": str(reply_to.get("text", "")),
            }
        if edited:
            message["edit_date"] = int(time.time())
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.push_update({"edited_message" if edited else "message": message})

    async def press_button(self, data: str, *, chat_id: int = 1001, user_id: int | None = None) -> int:
        """Press the inline button carrying `data` on the newest bot message in the chat that shows it."""
        user_id = user_id or chat_id
        for sent in reversed(self.sent_messages(chat_id)):
            markup = sent.get("reply_markup") or {}
            rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
            if any(button.get("callback_data") == data for row in rows for button in row):
                message = {
                    "message_id": sent["_message_id"],
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Career Advisor"},
                    "text": str(sent.get("text", "")),
                    "reply_markup": markup,
                }
                break
        else:
            raise AssertionError(f"no message in chat {chat_id} has a button {data!r}")
        query = {
            "id": str(next(self._update_ids) + 10_000),
            "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
            "chat_instance": str(chat_id),
            "data": data,
            "message": message,
        }
        return await self.push_update({"callback_query": query})

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        """Answer the next call of `method` with this error (calls queue up in order)."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        self._scripted_errors.setdefault(method, []).append((status, description, parameters))
        self._end_long_polls(method)

    def drop_next(self, method: str) -> None:
        """Close the connection of the next call of `method` without an answer, before acting on it."""
        self._drops[method] = self._drops.get(method, 0) + 1
        self._end_long_polls(method)

    def _end_long_polls(self, method: str) -> None:
        """A fault scripted for getUpdates meets the bot's next poll at once, not after the long poll running now."""
        if method != "getUpdates":
            return

        async def wake() -> None:
            async with self._new_update:
                self._new_update.notify_all()

        try:
            self._wakers.add(task := asyncio.get_running_loop().create_task(wake()))
        except RuntimeError:  # no event loop yet: no poll is running either
            return
        task.add_done_callback(self._wakers.discard)

    def delay_next(self, method: str, seconds: float) -> None:
        """Carry out the next call of `method` at once, but hold its answer back for `seconds`."""
        self._delays.setdefault(method, []).append(seconds)

    async def wait_for_held_answers(self, *, within: float = 60.0) -> None:
        """Until every delayed answer has been written (or found its connection gone)."""

        async def released() -> None:
            async with self._released:
                await self._released.wait_for(lambda: all(c.answer != "pending" for c in self.calls))

        await asyncio.wait_for(released(), within)

    def buttons(self, message: dict[str, Any]) -> list[str]:
        """The callback data of every inline button under a sent message."""
        markup = message.get("reply_markup") or {}
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]

    async def push_update(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        async with self._new_update:
            self._updates.append({"update_id": update_id, **payload})
            self.pushed += 1
            self._new_update.notify_all()
        return update_id

    # -- what tests inspect ----------------------------------------------------------------------
    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.calls
            if c.method == "sendMessage" and c.ok and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    async def wait_for_messages(
        self, count: int, *, chat_id: int | None = None, within: float = 60.0
    ) -> list[dict[str, Any]]:
        async def enough() -> None:
            async with self._sent:
                await self._sent.wait_for(lambda: len(self.sent_messages(chat_id)) >= count)

        await asyncio.wait_for(enough(), within)
        return self.sent_messages(chat_id)

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    # -- the Bot API -----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)  # read whole, so closing the connection sends no reset
        if self._drops.get(method):
            self._drops[method] -= 1
            self.calls.append(Call(method, params, ok=False, answer="dropped"))
            assert request.transport is not None
            request.transport.close()
            raise web.HTTPInternalServerError  # never written: the connection is already closed
        delays = self._delays.get(method)
        if not delays:
            response, _ = await self._answer(method, params)
            return response
        delay = delays.pop(0)
        response, call = await self._answer(method, params, held=True)
        await asyncio.sleep(delay)
        connection = request.transport
        call.answer = "abandoned" if connection is None or connection.is_closing() else "received"
        async with self._released:
            self._released.notify_all()
        return response

    async def _answer(self, method: str, params: dict[str, Any], *, held: bool = False) -> tuple[web.Response, Call]:
        answer: Literal["pending", "received"] = "pending" if held else "received"
        error = self._error_for(method, params)
        if error is not None:
            status, description, parameters = error
            call = Call(method, params, ok=False, answer=answer)
            self.calls.append(call)
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
            if parameters:
                body["parameters"] = parameters
            return web.json_response(body, status=status), call
        call = Call(method, params, answer=answer)
        self.calls.append(call)
        handler = getattr(self, f"_api_{method}", None)
        result = await handler(params) if handler else True
        if method in ("sendMessage", "editMessageText", "sendPhoto"):
            async with self._sent:
                self._sent.notify_all()
        return web.json_response({"ok": True, "result": result}), call

    def _error_for(self, method: str, params: dict[str, Any]) -> tuple[int, str, dict[str, Any] | None] | None:
        if method == "sendMessage" and int(params.get("chat_id", 0)) in self.blocked_chats:
            return 403, "Forbidden: bot was blocked by the user", None
        queue = self._scripted_errors.get(method)
        return queue.pop(0) if queue else None

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        data = await request.post()
        params: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value.file.read()
                params.setdefault("_file_names", {})[key] = value.filename  # what the user would see
        return params

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Career Advisor",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        async with self._new_update:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout:
                try:
                    await asyncio.wait_for(self._new_update.wait_for(self._poll_should_end), timeout)
                except TimeoutError:
                    return []
            return list(self._updates[: int(params.get("limit") or 100)])

    def _poll_should_end(self) -> bool:
        return (
            bool(self._updates) or bool(self._scripted_errors.get("getUpdates")) or bool(self._drops.get("getUpdates"))
        )

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._media_message(params, "photo")

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._media_message(params, "document")

    def _media_message(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Career Advisor"},
        }
        if kind == "photo":
            message["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 1080, "height": 800}]
        else:
            name = params.get("_file_names", {}).get("document", "chart.png")
            message["document"] = {"file_id": "d1", "file_unique_id": "u2", "file_name": name}
        return message

    def uploads(self, chat_id: int) -> list[tuple[str, bytes]]:
        """(method, file bytes) of every picture sent to the chat."""
        found = []
        for call in self.calls:
            if call.method in ("sendPhoto", "sendDocument") and call.ok and int(call.params["chat_id"]) == chat_id:
                data = call.params.get("photo", call.params.get("document"))
                found.append((call.method, data if isinstance(data, bytes) else b""))
        return found

    def documents(self, chat_id: int) -> list[tuple[str, bytes]]:
        """(file name, bytes) of every file sent to the chat with sendDocument."""
        return [
            (str(call.params.get("_file_names", {}).get("document", "")), call.params["document"])
            for call in self.calls
            if call.method == "sendDocument"
            and call.ok
            and int(call.params["chat_id"]) == chat_id
            and isinstance(call.params.get("document"), bytes)
        ]

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        params["_message_id"] = message_id  # lets a test press this message's buttons later
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Career Advisor"},
            "text": str(params.get("text", "")),
        }
