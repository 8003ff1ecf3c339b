"""One bot process against two, in webhook mode on PostgreSQL and a Chroma server.

    .venv/bin/python -m bench.replicas [--users 100] [--questions 3] [--nudge-users 2000] [--repeats 2]

Each configuration runs real `python -m bot` processes on a fresh PostgreSQL database (the local
server at 127.0.0.1:5432) and one Chroma server (`chroma run`, from the chromadb package). Simulated
users post their questions as Telegram would, to the replicas' webhooks in turn, each user waiting
for the reply before the next question; the replies go to the local Bot API server of the tests,
which records when each arrived. Then two replicas deliver a batch of weekly nudges due at once.
Prints a table and writes bench/results/replicas.json. A benchmark prints figures; it never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import spawn_bot
from bench.harness.chroma_server import ChromaServer, free_loopback_port
from bench.harness.due_nudges import seed_due_nudges
from bench.report import machine, percentile, spread, table, write_json
from bot.store import Store
from bot.telegram.http_server import SECRET_HEADER
from ingest.chunking import build_chunks
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import build_index, make_client
from ingest.loader import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench" / "results" / "replicas.json"
TOKEN = "123456789:AABenchmarkTokenNotARealOne_abcdefghij"
SERVER = "postgresql://postgres@127.0.0.1:5432"
QUESTIONS = (
    "which cert for cloud?",
    "I'm in marketing, how do I become a data analyst?",
    "what is a good first cybersecurity certification?",
    "compare AZ-104 and AWS Solutions Architect Associate",
    "cheapest project management certificate?",
    "how do I move from IT support into cloud engineering?",
)
FIRST_USER = 3_000_000


@dataclass
class Replica:
    port: int
    process: asyncio.subprocess.Process
    log: Path


@dataclass
class Run:
    replicas: int
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    expected: int = 0
    received: int = 0
    peak_per_second: int = 0  # all replicas' sends together, in the busiest second


# What Telegram counts against a bot's overall limit of about 30 a second: new messages, whatever their kind.
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})


def peak_sends_per_second(api: FakeBotApi, first_call: int = 0) -> int:
    """The most messages the Bot API server received in any one-second window, from every replica together."""
    moments = sorted(c.at for c in api.calls[first_call:] if c.method in SENDS and c.ok)
    return max((bisect.bisect_left(moments, start + 1.0) - i for i, start in enumerate(moments)), default=0)


async def create_database() -> tuple[str, str]:
    name = f"bench_replicas_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{SERVER}/test", timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(f"{SERVER}/test", timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def replica_env(api: FakeBotApi, database_url: str, chroma_url: str, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LLM_", "DATABASE_", "CHROMA_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        CHROMA_URL=chroma_url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        HTTP_PORT=str(port),
        HF_HUB_OFFLINE="1",
        LOG_LEVEL="WARNING",
        USER_MESSAGES_PER_MINUTE="1000",  # simulated users type faster than people
        NUDGE_CLAIM_LEASE_SECONDS="10",
    )
    return env


async def start_replicas(count: int, api: FakeBotApi, database_url: str, chroma_url: str, work: Path) -> list[Replica]:
    replicas = []
    for number in range(count):
        port = free_loopback_port()
        data_dir = work / f"replica-{number}"
        data_dir.mkdir(parents=True, exist_ok=True)
        log = data_dir / "bot.log"
        with log.open("wb") as out:
            env = replica_env(api, database_url, chroma_url, data_dir, port)
            process = await spawn_bot(env, stdout=out, stderr=asyncio.subprocess.STDOUT)
        replicas.append(Replica(port, process, log))
    async with aiohttp.ClientSession() as session:
        for replica in replicas:
            await wait_ready(session, replica)
    return replicas


async def wait_ready(session: aiohttp.ClientSession, replica: Replica, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if replica.process.returncode is not None:
            raise RuntimeError(f"a replica exited while starting:\n{replica.log.read_text()[-2000:]}")
        try:
            async with session.get(f"http://127.0.0.1:{replica.port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"a replica was not ready in {within} s:\n{replica.log.read_text()[-2000:]}")


async def stop_replicas(replicas: list[Replica]) -> None:
    for replica in replicas:
        if replica.process.returncode is None:
            replica.process.terminate()
    for replica in replicas:
        await asyncio.wait_for(replica.process.wait(), 60)


def message_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Bench"},
            "text": text,
        },
    }


async def question_load(api: FakeBotApi, replicas: list[Replica], secret: str, users: int, questions: int) -> Run:
    """Every user asks `questions` questions, one after another; all users at once."""
    run = Run(len(replicas), expected=users * questions)
    update_ids = iter(range(1, 10**9))
    turn = iter(range(10**9))
    headers = {"Content-Type": "application/json", SECRET_HEADER: secret}

    async with aiohttp.ClientSession() as session:

        async def one_user(user_id: int) -> None:
            for index in range(questions):
                before = len(api.sent_messages(user_id))
                replica = replicas[next(turn) % len(replicas)]
                body = json.dumps(
                    message_update(next(update_ids), user_id, QUESTIONS[(user_id + index) % len(QUESTIONS)])
                )
                pushed = time.monotonic()
                async with session.post(f"http://127.0.0.1:{replica.port}/telegram", data=body, headers=headers) as r:
                    r.raise_for_status()
                try:
                    replies = await api.wait_for_messages(before + 1, chat_id=user_id, within=300)
                except TimeoutError:
                    return
                arrived = next(c.at for c in api.calls if c.method == "sendMessage" and c.params is replies[before])
                run.latencies.append(arrived - pushed)

        started = time.monotonic()
        await asyncio.gather(*(one_user(FIRST_USER + n) for n in range(users)))
        run.seconds = time.monotonic() - started
    run.peak_per_second = peak_sends_per_second(api)
    run.received = sum(len(api.sent_messages(FIRST_USER + n)) for n in range(users))
    return run


async def nudge_run(api: FakeBotApi, chroma_url: str, work: Path, users: int) -> dict[str, Any]:
    """Two replicas start on a database where `users` nudges are due: each must arrive exactly once."""
    name, url = await create_database()
    try:
        async with await Store.open(url):
            pass  # migrate first, so that the seeding below writes into the finished schema
        week_of_due = await seed_due_nudges(url, range(FIRST_USER, FIRST_USER + users))
        first_call = len(api.calls)
        started = time.monotonic()
        replicas = await start_replicas(2, api, url, chroma_url, work / "nudges")
        try:
            deadline = time.monotonic() + 60 + users / 10
            while time.monotonic() < deadline:
                async with await Store.open(url) as store:
                    week = await store.ledger.week_counts(week_of_due)
                if week["sent"] + week["failed"] >= users:
                    break
                await asyncio.sleep(1.0)
            await asyncio.sleep(3.0)  # time for a wrong extra copy to show
        finally:
            await stop_replicas(replicas)
        sends = [c for c in api.calls[first_call:] if c.method == "sendMessage" and c.ok]
        per_user = Counter(int(c.params["chat_id"]) for c in sends)
        wanted = range(FIRST_USER, FIRST_USER + users)
        return {
            "users": users,
            "delivered": sum(1 for u in wanted if per_user[u] >= 1),
            "duplicates": sum(max(0, per_user[u] - 1) for u in wanted),
            "lost": sum(1 for u in wanted if per_user[u] == 0),
            "peak_sends_per_second": peak_sends_per_second(api, first_call),
            "seconds_from_start": round((max(c.at for c in sends) - started) if sends else float("nan"), 1),
            "ledger": week,
        }
    finally:
        await drop_database(name)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    chroma = ChromaServer(work / "chroma-server")
    chroma.start()
    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        embeddings = SentenceTransformerEmbeddings(cache_dir=work / "models")
        embeddings.load()
        kb = load_knowledge(ROOT / "knowledge")
        await asyncio.to_thread(
            build_index, make_client(chroma_url=chroma.url), build_chunks(kb), embeddings, records=kb.record_count
        )
        runs: dict[int, list[Run]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for count in (1, 2):
                name, url = await create_database()
                try:
                    replicas = await start_replicas(count, api, url, chroma.url, work / f"load-{count}")
                    secret = next(
                        str(c.params["secret_token"]) for c in reversed(api.calls) if c.method == "setWebhook"
                    )
                    try:
                        runs[count].append(await question_load(api, replicas, secret, args.users, args.questions))
                    finally:
                        await stop_replicas(replicas)
                finally:
                    await drop_database(name)
                api.calls.clear()
        nudges = await nudge_run(api, chroma.url, work, args.nudge_users) if args.nudge_users else None
    finally:
        await api.stop()
        chroma.stop()
    load = {
        str(count): {
            "replies_per_second": spread(r.received / r.seconds for r in done),
            "p50_seconds": spread(percentile(r.latencies, 50) for r in done),
            "p95_seconds": spread(percentile(r.latencies, 95) for r in done),
            "replies": [f"{r.received}/{r.expected}" for r in done],
            "peak_sends_per_second": spread(r.peak_per_second for r in done),
        }
        for count, done in runs.items()
    }
    return {"machine": machine(), "users": args.users, "questions": args.questions, "load": load, "nudges": nudges}


def report(result: dict[str, Any]) -> str:
    def fig(value: dict[str, float], digits: int = 2) -> str:
        if value["min"] == value["max"]:
            return f"{value['median']:.{digits}f}"
        return f"{value['median']:.{digits}f} ({value['min']:.{digits}f}-{value['max']:.{digits}f})"

    rows = [
        [
            count,
            fig(load["replies_per_second"], 1),
            fig(load["p50_seconds"]),
            fig(load["p95_seconds"]),
            fig(load["peak_sends_per_second"], 0),
            ", ".join(load["replies"]),
        ]
        for count, load in result["load"].items()
    ]
    text = f"{result['users']} users x {result['questions']} questions, webhook mode, PostgreSQL, Chroma server\n\n"
    text += table(["replicas", "replies/s", "p50 s", "p95 s", "peak sends/s (all replicas)", "replies"], rows)
    nudges = result["nudges"]
    if nudges:
        text += "\n\nNudges due at once, two replicas\n\n" + table(
            ["users", "delivered", "duplicates", "lost", "peak sends/s (both)", "seconds from start"],
            [
                [
                    nudges["users"],
                    nudges["delivered"],
                    nudges["duplicates"],
                    nudges["lost"],
                    nudges["peak_sends_per_second"],
                    nudges["seconds_from_start"],
                ]
            ],
        )
    machine_info = result["machine"]
    return text + f"\n\n{machine_info['cores']} cores, {machine_info['cpu']}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--nudge-users", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    print(report(result))
    write_json(result, args.json)


if __name__ == "__main__":
    main()
