"""Admin commands end to end: /reindex switches the running bot to a new index, /broadcast asks first,
reaches every user once and resumes after a restart; to everyone else neither command exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.ext import Application

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import caught_up
from bot.advisor import Advisor
from bot.config import Settings, load_settings
from bot.store import Store
from bot.telegram.app import build_application
from bot.telegram.broadcasts import BroadcastSender
from bot.telegram.context import BotServices
from bot.telegram.lifecycle import running
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client
from tests.conftest import TEST_TOKEN, ingest_into
from tests.support.extra_knowledge import AZ_104
from tests.test_guard_e2e import forge_press, plain

ADMIN, USER, OTHER, BLOCKED = 9501, 9502, 9503, 9504


def admin_settings(api: FakeBotApi, data_dir: Path, **overrides: object) -> Settings:
    return load_settings(
        _env_file=None,
        telegram_bot_token=TEST_TOKEN,
        telegram_base_url=api.base_url,
        data_dir=data_dir,
        admin_user_ids=f"{ADMIN}",
        **overrides,
    )


async def test_reindex_switches_the_running_bot_to_the_rebuilt_index(
    bot_api: FakeBotApi, fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    ingest_into(fixture_knowledge, chroma, embeddings)
    advisor = Advisor(make_client(chroma), embeddings)
    settings = admin_settings(bot_api, tmp_path, knowledge_dir=fixture_knowledge, chroma_path=chroma)
    async with running(build_application(settings, advisor=advisor), poll_timeout=1):
        before = advisor.catalog.collection_name
        await bot_api.send_text("/reindex", chat_id=USER)
        [refused, _help] = await bot_api.wait_for_messages(2, chat_id=USER)
        assert "I don't know /reindex" in plain(refused)  # not revealed to non-admins
        assert advisor.catalog.collection_name == before

        (fixture_knowledge / "credentials" / "azure-admin.yaml").write_text(AZ_104)
        await bot_api.send_text("/reindex", chat_id=ADMIN)
        [done] = await bot_api.wait_for_messages(1, chat_id=ADMIN, within=240)
        assert "Now answering from" in plain(done) and "1 added" in plain(done), plain(done)
        assert advisor.catalog.collection_name != before
        assert "microsoft-azure-administrator-associate" in advisor.catalog.credentials

        await bot_api.send_text("tell me about AZ-104", chat_id=USER)
        [*_, answer] = await bot_api.wait_for_messages(3, chat_id=USER)
        assert "Azure Administrator Associate" in plain(answer)

        # a broken knowledge base is refused by the ingest; the bot keeps the index it has
        (fixture_knowledge / "credentials" / "broken.yaml").write_text("- id: x\n  name: [unclosed\n")
        current = advisor.catalog.collection_name
        await bot_api.send_text("/reindex", chat_id=ADMIN)
        [_, refused_build] = await bot_api.wait_for_messages(2, chat_id=ADMIN, within=240)
        assert "was not rebuilt" in plain(refused_build) and "error" in plain(refused_build)
        assert advisor.catalog.collection_name == current


def broadcasts_of(app: Application) -> BroadcastSender:
    services: BotServices = app.bot_data
    assert services.broadcasts is not None
    return services.broadcasts


@pytest.fixture
def known_users() -> list[int]:
    return [ADMIN, USER, OTHER, BLOCKED]


async def test_a_broadcast_is_previewed_confirmed_and_reaches_everyone_once(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str, known_users: list[int]
) -> None:
    bot_api.blocked_chats.add(BLOCKED)
    settings = admin_settings(bot_api, tmp_path, database_url=database_url)
    async with running(build_application(settings, advisor=advisor), poll_timeout=1) as app:
        # a question makes a user known to the bot (/help alone stores nothing about anyone)
        for chat_id in known_users:
            await bot_api.send_text("which cert for cloud?", chat_id=chat_id)
        for chat_id in known_users:
            if chat_id != BLOCKED:  # known to the bot, then blocked it
                await bot_api.wait_for_messages(1, chat_id=chat_id)

        await bot_api.send_text("/broadcast New guides are in", chat_id=USER)
        [_, refused, _] = await bot_api.wait_for_messages(3, chat_id=USER)
        assert "I don't know /broadcast" in plain(refused)

        await bot_api.send_text("/broadcast Draft that I will cancel", chat_id=ADMIN)
        [_, _, cancel_preview] = await bot_api.wait_for_messages(3, chat_id=ADMIN)
        cancel_send, cancel = bot_api.buttons(cancel_preview)
        await bot_api.press_button(cancel, chat_id=ADMIN)
        [*_, cancelled] = await bot_api.wait_for_messages(4, chat_id=ADMIN)
        assert "nothing was sent" in plain(cancelled)
        await bot_api.press_button(cancel_send, chat_id=ADMIN)  # too late: it was cancelled
        [*_, too_late] = await bot_api.wait_for_messages(5, chat_id=ADMIN)
        assert "already sent or cancelled" in plain(too_late)

        text = "New guides are in:\ncloud security <and> data careers & more"
        await bot_api.send_text(f"/broadcast {text}", chat_id=ADMIN)
        [*_, intro, preview] = await bot_api.wait_for_messages(7, chat_id=ADMIN)
        assert "every user" in plain(intro) and plain(preview) == text
        send, _ = bot_api.buttons(preview)
        assert send.startswith("a:bc:")
        # someone who is not an admin replays the button data: nothing happens
        await forge_press(bot_api, send, chat_id=OTHER)
        [_, expired] = await bot_api.wait_for_messages(2, chat_id=OTHER)
        assert "expired" in plain(expired)

        await bot_api.press_button(send, chat_id=ADMIN)
        await bot_api.press_button(send, chat_id=ADMIN)  # a double tap
        # started, already sent, the broadcast itself and the report, in whatever order they finish
        await bot_api.wait_for_messages(11, chat_id=ADMIN, within=60)
        await caught_up(app, bot_api.pushed)
        await broadcasts_of(app).wait()
        assert len(bot_api.sent_messages(ADMIN)) == 11
        reports = [plain(m) for m in bot_api.sent_messages(ADMIN) if "is done:" in plain(m)]
        assert len(reports) == 1, [plain(m)[:70] for m in bot_api.sent_messages(ADMIN)]
        report = reports[0]
        assert "sent to 3, failed for 1" in report, report

    for chat_id in (ADMIN, USER, OTHER):
        copies = [m for m in bot_api.sent_messages(chat_id) if plain(m) == text]
        assert len(copies) == (2 if chat_id == ADMIN else 1), chat_id  # the admin also saw the preview
    assert not bot_api.sent_messages(BLOCKED)
    answers = [plain(m) for m in bot_api.sent_messages(ADMIN)]
    assert sum("Sending to 4 users" in a for a in answers) == 1
    assert sum("already sent or cancelled" in a for a in answers) == 2  # the cancelled one and the double tap


async def test_an_unfinished_broadcast_resumes_after_a_restart_without_second_copies(
    bot_api: FakeBotApi, advisor: Advisor, tmp_path: Path, database_url: str
) -> None:
    settings = admin_settings(bot_api, tmp_path, database_url=database_url)
    # a previous run confirmed a broadcast, sent it to one user, and died while sending to another
    async with await Store.open(database_url) as store:
        for user_id in (ADMIN, USER, OTHER, BLOCKED):
            await store.users.touch(user_id, user_id)
        broadcast = await store.broadcasts.draft(ADMIN, "Exam vouchers are back")
        assert await store.broadcasts.start(broadcast) == 4
        first, second = await store.broadcasts.claim(broadcast, 2)
        await store.broadcasts.delivered(broadcast, first.user_id)
        assert (first.user_id, second.user_id) == (ADMIN, USER)

    async with running(build_application(settings, advisor=advisor), poll_timeout=1) as app:
        [report] = await bot_api.wait_for_messages(1, chat_id=ADMIN, within=60)
        await broadcasts_of(app).wait()
    assert "sent to 3, failed for 0" in plain(report) and "1 were cut off by a restart" in plain(report)
    assert [plain(m) for m in bot_api.sent_messages(OTHER)] == ["Exam vouchers are back"]
    assert [plain(m) for m in bot_api.sent_messages(BLOCKED)] == ["Exam vouchers are back"]
    assert not bot_api.sent_messages(USER)  # it may have reached them before the crash: never twice
