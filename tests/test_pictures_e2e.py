"""Pictures in the chat: roadmap, comparison chart and progress card, over HTTP and in the terminal."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

from bench.harness.botapi import FakeBotApi
from bot.advisor import Advisor, Profile
from bot.config import load_settings
from bot.dialog.assistant import Assistant
from bot.planner.builder import build_plan
from bot.prompts import Texts
from bot.store import Store
from bot.telegram.app import build_application
from bot.telegram.lifecycle import running
from bot.telegram.sending import png_size
from bot.terminal import LOCAL_USER, TerminalChat
from tests.conftest import TEST_TOKEN

USER = 9501


async def with_plan(url: str, advisor: Advisor, user_id: int) -> None:
    async with await Store.open(url) as store:
        profile = Profile(current_role="teacher", target_role="Cloud Engineer", hours_per_week=6)
        await store.profiles.save(user_id, profile)
        await store.profiles.mark_onboarded(user_id)
        await store.plans.replace(user_id, build_plan(advisor.catalog, profile, dt.date(2026, 11, 2)))


async def test_roadmap_comparison_and_progress_pictures(bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path) -> None:
    await with_plan(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", advisor, USER)
    settings = load_settings(
        _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_base_url=bot_api.base_url, data_dir=tmp_path
    )
    async with running(build_application(settings, advisor=advisor), poll_timeout=1):
        await bot_api.send_text("/roadmap", chat_id=USER)
        await wait_for_uploads(bot_api, USER, 1)
        await bot_api.send_text("/plan", chat_id=USER)
        [_, plan] = await bot_api.wait_for_messages(2, chat_id=USER)
        await bot_api.press_button("r:map", chat_id=USER)  # the same plan: drawn once, sent again
        await wait_for_uploads(bot_api, USER, 2)
        await bot_api.send_text("/compare AZ-104 vs SAA", chat_id=USER)
        await wait_for_uploads(bot_api, USER, 3)
        await bot_api.send_text("/progress", chat_id=USER)
        uploads = await wait_for_uploads(bot_api, USER, 4)
    (_, roadmap), (_, again), (_, comparison), (_, card) = uploads
    assert "r:map" in bot_api.buttons(plan)
    assert roadmap == again and png_size(roadmap)[0] == 1080
    assert comparison[:8] == card[:8] == b"\x89PNG\r\n\x1a\n" and len({roadmap, comparison, card}) == 3


async def test_the_terminal_saves_the_roadmap_to_a_file(advisor: Advisor, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await with_plan(url, advisor, LOCAL_USER.user_id)
    out = io.StringIO()
    async with await Store.open(url) as store:
        chat = TerminalChat(Assistant(store, advisor, Texts.load()), Texts.load(), out, charts_dir=tmp_path / "charts")
        await chat.handle("/roadmap")
    saved = tmp_path / "charts" / "roadmap.png"
    assert f"picture saved to {saved}" in out.getvalue()
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def wait_for_uploads(api: FakeBotApi, chat_id: int, count: int, within: float = 60) -> list[tuple[str, bytes]]:
    deadline = asyncio.get_running_loop().time() + within
    while len(api.uploads(chat_id)) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{len(api.uploads(chat_id))} pictures arrived, expected {count}")
        await asyncio.sleep(0.1)
    return api.uploads(chat_id)
