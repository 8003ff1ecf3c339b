"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests of LLM mode.

Each request takes the next scripted behaviour (an answer, an error status, or a hang) and is
recorded, so tests can check what the bot sent the model. Streaming requests get server-sent events.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Behaviour:
    text: str = ""
    status: int = 200
    hang_seconds: float = 0.0


@dataclass
class LLMServer:
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[Behaviour] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answer(self, text: str) -> None:
        self.script.append(Behaviour(text=text))

    def fail(self, status: int) -> None:
        self.script.append(Behaviour(status=status))

    def hang(self, seconds: float) -> None:
        self.script.append(Behaviour(hang_seconds=seconds))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        behaviour = self.script.pop(0) if self.script else Behaviour(text="(no scripted answer)")
        if behaviour.hang_seconds:
            await asyncio.sleep(behaviour.hang_seconds)
        if behaviour.status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error", "code": str(behaviour.status)}}
            return web.json_response(error, status=behaviour.status)
        model = body.get("model", "test-model")
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": behaviour.text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def event(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await response.write(f"data: {data}\n\n".encode())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        await event(chunk({"role": "assistant", "content": ""}))
        words = behaviour.text.split(" ")
        for index, word in enumerate(words):
            await event(chunk({"content": word + (" " if index < len(words) - 1 else "")}))
            await asyncio.sleep(0.05)
        await event(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 100, "completion_tokens": len(words), "total_tokens": 100 + len(words)}
            await event(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        await event("[DONE]")
        await response.write_eof()
        return response
