"""The real `python -m bot` process against the local Bot API server: polling faults and a second instance."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import bot_env, spawn_bot
from tests.conftest import TEST_TOKEN


async def test_polling_recovers_from_server_errors_and_stops_on_a_conflict(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path
) -> None:
    # a flaky start (two 502s, a 429), then a question, then another instance takes over the token
    bot_api.fail_next("getUpdates", 502, "Bad Gateway")
    bot_api.fail_next("getUpdates", 502, "Bad Gateway")
    bot_api.fail_next("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    process = await spawn_bot(bot_env(bot_api, tmp_path, real_index))
    try:
        await bot_api.send_text("which cert for cloud?", chat_id=9700)
        [answer] = await bot_api.wait_for_messages(1, chat_id=9700, within=120)
        assert "Sources" in answer["text"]
        for _ in range(3):
            bot_api.fail_next(
                "getUpdates",
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        _, stderr = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    errors = stderr.decode()
    assert process.returncode == 1, errors[-2000:]
    assert "error: another bot instance is polling Telegram with this token" in errors
    assert TEST_TOKEN.split(":")[1] not in errors  # the token never reaches the logs, even on failure
    assert len(bot_api.sent_messages(9700)) == 1  # nothing answered twice across the faults
