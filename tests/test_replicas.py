"""Two bot replicas in webhook mode on one PostgreSQL database and one Chroma server, as behind a load balancer.

The updates of one user's conversation go to the replicas alternately; the questionnaire, the
follow-up questions and the buttons must work as with one process, every reply must be sent once,
and an update delivered to both replicas must be handled once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.harness.botapi import BOT_ID, FakeBotApi
from bench.harness.botproc import bot_env, plain, spawn_bot, until
from bench.harness.chroma_server import ChromaServer
from bench.harness.due_nudges import seed_due_nudges
from bot.store import LedgerEntry, Store
from bot.telegram.http_server import SECRET_HEADER
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client
from tests.conftest import REAL_KNOWLEDGE
from tests.test_chroma_server import ingest_in_process
from tests.test_webhook import free_port, message_update

CHAT = 9900


@dataclass
class Replica:
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"


@dataclass
class Cluster:
    api: FakeBotApi
    replicas: list[Replica]
    session: aiohttp.ClientSession
    secret: str = ""
    update_ids: Any = field(default_factory=lambda: iter(range(800_001, 900_000)))

    async def post(self, replica: Replica, update: dict[str, Any]) -> None:
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json", SECRET_HEADER: self.secret}
        async with self.session.post(replica.url, data=body, headers=headers) as response:
            assert response.status == 200, await response.text()


async def start_replica(
    api: FakeBotApi, database_url: str, data_dir: Path, index: Path, number: int, **extra: str
) -> Replica:
    replica = Replica(free_port(), data_dir / f"replica-{number}.log")
    env = bot_env(api, data_dir, index)
    env.update(extra)
    env.update(DATABASE_URL=database_url, WEBHOOK_URL=f"http://127.0.0.1:{replica.port}/telegram")
    env["HTTP_PORT"] = str(replica.port)
    with replica.log.open("wb") as log:
        replica.process = await spawn_bot(env, stdout=log, stderr=asyncio.subprocess.STDOUT)
    return replica


async def wait_ready(session: aiohttp.ClientSession, replica: Replica, within: float = 180) -> None:
    deadline = time.monotonic() + within
    while True:
        assert replica.process is not None and replica.process.returncode is None, replica.log.read_text()[-3000:]
        try:
            async with session.get(f"http://127.0.0.1:{replica.port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        assert time.monotonic() < deadline, replica.log.read_text()[-3000:]
        await asyncio.sleep(0.1)


@pytest.fixture
async def cluster(
    bot_api: FakeBotApi,
    embeddings: SentenceTransformerEmbeddings,
    chroma_server: ChromaServer,
    tmp_path: Path,
    postgres_database: str,
) -> AsyncIterator[Cluster]:
    """Two replicas on one PostgreSQL database, both reading the index from one Chroma server."""
    await asyncio.to_thread(ingest_in_process, make_client(chroma_url=chroma_server.url), REAL_KNOWLEDGE, embeddings)
    server = {"CHROMA_URL": chroma_server.url}
    # both start at once on the empty database: the migrations must not trip over each other
    replicas = list(
        await asyncio.gather(
            *(start_replica(bot_api, postgres_database, tmp_path, tmp_path / "unused", n, **server) for n in range(2))
        )
    )
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(wait_ready(session, replica) for replica in replicas))
            secrets_set = {str(c.params["secret_token"]) for c in bot_api.calls if c.method == "setWebhook"}
            assert len(secrets_set) == 1  # derived from the token: every replica agrees
            yield Cluster(bot_api, replicas, session, secrets_set.pop())
    finally:
        for replica in replicas:
            if replica.process is not None and replica.process.returncode is None:
                replica.process.terminate()
                await asyncio.wait_for(replica.process.wait(), 60)


def callback_update(update_id: int, data: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ana"},
            "chat_instance": str(CHAT),
            "data": data,
            "message": {
                "message_id": message["_message_id"],
                "date": int(time.time()),
                "chat": {"id": CHAT, "type": "private", "first_name": "Ana"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Career Advisor"},
                "text": str(message.get("text", "")),
            },
        },
    }


async def exchange(cluster: Cluster, turn: int, what: str, expect: int = 1) -> list[dict[str, Any]]:
    """Send a text (or press a button, written "button:DATA") through replica `turn % 2`; its new replies."""
    before = len(cluster.api.sent_messages(CHAT))
    update_id = next(cluster.update_ids)
    if what.startswith("button:"):
        data = what.removeprefix("button:")
        message = next(m for m in reversed(cluster.api.sent_messages(CHAT)) if data in cluster.api.buttons(m))
        update = callback_update(update_id, data, message)
    else:
        update = message_update(update_id, what, CHAT)
    await cluster.post(cluster.replicas[turn % 2], update)
    messages = await cluster.api.wait_for_messages(before + expect, chat_id=CHAT, within=120)
    return messages[before:]


async def test_one_conversation_across_two_replicas_is_answered_once_each_step(cluster: Cluster) -> None:
    script: list[tuple[str, int, str]] = [
        ("/start", 2, "(1/8)"),
        ("marketing coordinator", 1, "(2/8)"),
        ("button:b:ask:target:data-analyst", 1, "experience"),
        ("button:b:ask:level:beginner", 1, "hours"),
        ("6", 1, "US dollars"),
        ("button:b:ask:budget:500", 1, ""),
        ("button:b:ask:providers:-", 1, "time zone"),
        ("Berlin", 1, "weekly nudge"),
        ("no thanks", 2, "Data Analyst"),
        ("/profile", 1, "Hours a week: 6"),
        ("which cert for cloud?", 1, "Sources"),
        ("what about cheaper ones?", 1, "150 USD"),  # leans on the turn the other replica answered
    ]
    for turn, (what, expect, shows) in enumerate(script):
        replies = await exchange(cluster, turn, what, expect)
        assert shows in plain(replies[-1]), (what, [plain(r) for r in replies])

    # a load balancer retrying one update on the other replica: handled once
    before = len(cluster.api.sent_messages(CHAT))
    duplicate = message_update(next(cluster.update_ids), "/progress", CHAT)
    await asyncio.gather(*(cluster.post(replica, duplicate) for replica in cluster.replicas))
    # each replica handles a chat's updates in arrival order, so once both have answered an update posted
    # after the duplicate, a second answer to the duplicate would already have been sent
    follow_ups = [message_update(next(cluster.update_ids), "/help", CHAT) for _ in cluster.replicas]
    await asyncio.gather(*(cluster.post(replica, u) for replica, u in zip(cluster.replicas, follow_ups, strict=True)))

    def since_duplicate() -> list[str]:
        return [plain(m) for m in cluster.api.sent_messages(CHAT)[before:]]

    def is_help(text: str) -> bool:
        return text.startswith("Commands:")

    await until(
        lambda: sum(map(is_help, since_duplicate())) >= len(follow_ups), within=120, what="both follow-ups answered"
    )
    progress_answers = [text for text in since_duplicate() if not is_help(text)]
    assert len(progress_answers) == 1, progress_answers  # the duplicate /progress, answered once

    total = sum(expect for _, expect, _ in script) + 1 + len(follow_ups)
    assert len(cluster.api.sent_messages(CHAT)) == total  # nothing answered twice, nothing lost
    assert all(c.ok for c in cluster.api.calls if c.method == "sendMessage")
    assert "getUpdates" not in cluster.api.methods()


NUDGED = range(20_001, 20_041)  # 40 users whose weekly nudge came due two minutes ago
SEEDED_STALE = NUDGED[:8]  # claimed by a process that died before trying to send them


async def test_nudges_with_two_replicas_and_one_killed_mid_batch_go_out_once(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path, postgres_database: str
) -> None:
    await seed_due_nudges(postgres_database, NUDGED, stale_claims=SEEDED_STALE)
    for _ in NUDGED:  # slow answers stretch the batch over seconds, so the kill lands in its middle
        bot_api.delay_next("sendMessage", 0.4)
    lease = {"NUDGE_CLAIM_LEASE_SECONDS": "3"}
    replicas = list(
        await asyncio.gather(
            *(start_replica(bot_api, postgres_database, tmp_path, real_index, n, **lease) for n in range(2))
        )
    )

    def nudges_sent() -> int:
        return len([c for c in bot_api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) in NUDGED])

    try:
        deadline = time.monotonic() + 180
        while nudges_sent() < 6:
            assert time.monotonic() < deadline, [r.log.read_text()[-2000:] for r in replicas]
            await asyncio.sleep(0.02)
        # the replica that has tried the most sends is killed in the middle of its batch (what it tried stays
        # its own; which replica sends more is up to the shared sending pace, not to who claimed more)
        async with await Store.open(postgres_database) as store:
            owners = [
                e.owner
                for u in NUDGED
                for e in await store.ledger.history(u)
                if e.owner != "bot-died-long-ago" and e.attempts > 0
            ]
        busiest = max(set(owners), key=owners.count)
        victim = next(r for r in replicas if f"nudges scheduled by {busiest}" in r.log.read_text())
        assert victim.process is not None
        victim.process.kill()
        await victim.process.wait()
        survivor = next(r for r in replicas if r is not victim)
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, survivor)

        async def settled() -> tuple[dict[int, int], list[LedgerEntry]]:
            async with await Store.open(postgres_database) as store:
                entries = [e for user_id in NUDGED for e in await store.ledger.history(user_id)]
            received = {u: len(bot_api.sent_messages(u)) for u in NUDGED}
            return received, entries

        while True:  # until every nudge is sent, or tried by the killed process (which never learned how it went)
            received, entries = await settled()
            if all(e.status == "sent" or e.attempts > 0 for e in entries) and len(entries) == len(NUDGED):
                break
            assert time.monotonic() < deadline, entries
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)
        received, entries = await settled()
    finally:
        for replica in replicas:
            if replica.process is not None and replica.process.returncode is None:
                replica.process.terminate()
                await asyncio.wait_for(replica.process.wait(), 60)

    assert max(received.values()) == 1  # nobody got two
    assert all(received[u] == 1 for u in SEEDED_STALE)  # a dead process's untried claims were taken over
    unsent = [e for e in entries if received[e.user_id] == 0]
    # only a nudge whose request was leaving the killed process at that instant can be lost, never doubled
    assert all(e.status == "pending" and e.attempts == 1 for e in unsent), unsent
    assert len(unsent) <= 2, unsent
    owners = [e.owner for e in entries]
    assert busiest in owners and len(set(owners)) == 2  # both replicas took part; the dead process's claims moved
    assert "bot-died-long-ago" not in owners  # its untried claims were taken over by a live replica
    print(
        f"nudges: {sum(received.values())} of {len(NUDGED)} delivered, {len(unsent)} lost in flight; "
        f"claims by the killed replica {owners.count(busiest)}, by the survivor {len(owners) - owners.count(busiest)}"
    )
