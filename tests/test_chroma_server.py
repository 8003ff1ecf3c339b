"""CHROMA_URL: ingest and bot against a real Chroma server (`chroma run`) on loopback.

The server is the one the chromadb package installs; every test starts its own on a free port with its
data in the test's directory. Ingests run as `python -m ingest` child processes, the way an operator
runs them, so they share nothing with the test but the server (where their lock lives) and, unless a
test plays two machines, DATA_DIR (where their file lock lives).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from chromadb.api import ClientAPI

from bench.harness.botproc import bot_command
from bench.harness.chroma_server import ChromaServer
from bot.advisor import Advisor
from bot.config import Settings
from bot.services import build_advisor
from ingest.chunking import build_chunks
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import GENERATION_PREFIX, POINTER_COLLECTION, active_collection_name, build_index, make_client
from ingest.loader import load_knowledge
from ingest.locking import LOCK_COLLECTION, STALE_AFTER_SECONDS, Holder, LockBusy, ServerIngestLock
from tests.support.extra_knowledge import AZ_104, AZ_104_ID, MARK, mark_every_summary

QUESTION = "which cert for cloud?"
# Loading the embedding model dominates a child process; a busy machine can take several times the usual.
PROCESS_WITHIN_SECONDS = 240.0
LOCK_BUSY_EXIT = 3
LOCK_LOST_EXIT = 1
SERVER_LOCK_HOLDER = "the lock on the Chroma server is held by"
ANSWERS_WHILE_HALF_WRITTEN = 3


def product_env(chroma_url: str, data_dir: Path) -> dict[str, str]:
    """What an ingest or bot process sees: the server's URL, its own DATA_DIR, nothing of the developer's setup."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "LLM_", "DATABASE_", "CHROMA_", "KNOWLEDGE_", "EMBEDDING_", "DATA_DIR"))
    }
    env.update(CHROMA_URL=chroma_url, DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", LOG_LEVEL="WARNING")
    return env


def start_ingest(knowledge: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "--knowledge", str(knowledge), "--quiet"],
        env=env,
        cwd=cwd,  # not the repository: a developer's .env there must not reach the child
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def finish(process: subprocess.Popen[str]) -> Finished:
    try:
        out, err = process.communicate(timeout=PROCESS_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return Finished(process.returncode, out, err)


def run_ingest(knowledge: Path, env: dict[str, str], cwd: Path) -> Finished:
    return finish(start_ingest(knowledge, env, cwd))


def ingest_in_process(client: ClientAPI, knowledge: Path, embeddings: SentenceTransformerEmbeddings) -> str:
    """Build the index from `knowledge` through `client`; the name of the generation now live."""
    kb = load_knowledge(knowledge)
    return build_index(client, build_chunks(kb), embeddings, records=kb.record_count).collection


def chunk_count(knowledge: Path) -> int:
    return len(build_chunks(load_knowledge(knowledge)))


def generations(client: ClientAPI) -> dict[str, int]:
    """Every index generation on the server and how many chunks it holds now."""
    names = [c.name for c in client.list_collections() if c.name.startswith(GENERATION_PREFIX)]
    return {name: client.get_collection(name).count() for name in names}


def newer_than(name: str, others: dict[str, int]) -> dict[str, int]:
    """The generations created after `name` (their names carry their creation time)."""
    created = int(name.removeprefix(GENERATION_PREFIX))
    return {g: n for g, n in others.items() if int(g.removeprefix(GENERATION_PREFIX)) > created}


class PauseWhenHalfWritten(threading.Thread):
    """Watches the server beside a running ingest and stops the ingest (SIGSTOP) the moment its new
    generation holds some chunks but not all, until `resume()`: the bot is then certainly asked while a
    half-written generation sits on the server, however fast the machine."""

    def __init__(self, process: subprocess.Popen[str], chroma_url: str, *, live: str, complete: int) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.client = make_client(chroma_url=chroma_url)
        self.live = live
        self.complete = complete
        self.half_written: dict[str, int] = {}
        self.paused = threading.Event()
        self.resumed = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set() and self.process.poll() is None:
            seen = {g: n for g, n in newer_than(self.live, generations(self.client)).items() if 0 < n < self.complete}
            if seen:
                self.process.send_signal(signal.SIGSTOP)
                self.half_written = seen
                self.paused.set()
                return
            time.sleep(0.005)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.resumed.set()

    def stop(self) -> None:
        self._stopping.set()
        self.join()
        self.resume()  # never leave the ingest stopped, whatever failed


def fixture_ids(knowledge: Path) -> set[str]:
    return set(load_knowledge(knowledge).credentials)


def lock_holder(client: ClientAPI) -> Holder | None:
    """Who holds the ingest lock on the server, as its collection says; None when nobody does."""
    names = {c.name for c in client.list_collections()}
    return Holder.of(client.get_collection(LOCK_COLLECTION)) if LOCK_COLLECTION in names else None


def age_the_lock(client: ClientAPI, seconds: float) -> None:
    """Move the lock's last heartbeat `seconds` into the past: what the server shows once its owner has
    been dead that long, without waiting for it."""
    lock = client.get_collection(LOCK_COLLECTION)
    meta = dict(lock.metadata or {})
    assert "heartbeat" in meta, meta
    meta["heartbeat"] = client.heartbeat() / 1e9 - seconds
    lock.modify(metadata=meta)


def half_written_generation(process: subprocess.Popen[str], probe: ClientAPI, *, live: str, complete: int) -> str:
    """Wait until `process` has written part of a new generation; its name."""
    partial: dict[str, int] = {}
    while process.poll() is None and not partial:
        partial = {g: n for g, n in newer_than(live, generations(probe)).items() if 0 < n < complete}
        time.sleep(0.005)
    assert partial, f"the ingest ended (exit {process.poll()}) before it was seen writing a new generation"
    [name] = partial
    return name


def test_ingest_and_ask_through_a_chroma_server(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    data_dir = tmp_path / "data"
    env = product_env(chroma_server.url, data_dir)

    ingest = run_ingest(fixture_knowledge, env, tmp_path)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert ingest.stdout.startswith("ingest: "), ingest.stdout
    server = make_client(chroma_url=chroma_server.url)
    live = active_collection_name(server)
    assert live is not None
    assert generations(server) == {live: chunk_count(fixture_knowledge)}
    assert not (data_dir / "chroma").exists(), "with CHROMA_URL set nothing is written to a local index"

    ask = subprocess.run(
        bot_command("ask", "--json", QUESTION),
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PROCESS_WITHIN_SECONDS,
    )
    assert ask.returncode == 0, ask.stderr[-2000:]
    [line] = ask.stdout.splitlines()
    reply = json.loads(line)
    assert set(reply) == {
        "question",
        "intent",
        "in_scope",
        "mode",
        "answer",
        "recommendations",
        "sources",
        "language",
        "question_language",
        "latency_ms",
    }
    assert (reply["question"], reply["intent"], reply["in_scope"], reply["mode"]) == (
        QUESTION,
        "recommend",
        True,
        "grounded",
    )
    credentials = load_knowledge(fixture_knowledge).credentials
    recommended = reply["recommendations"]
    assert recommended, reply["answer"]
    for rec in recommended:
        assert set(rec) == {"id", "name", "provider", "domains", "level", "status", "url"}
        assert rec["id"] in credentials and rec["name"] == credentials[rec["id"]].name
    assert "cloud" in recommended[0]["domains"]
    assert credentials[recommended[0]["id"]].name in reply["answer"]

    # the same knowledge in a local directory gives the same answer: the server is only where it is kept
    local = tmp_path / "local-chroma"
    ingest_in_process(make_client(local), fixture_knowledge, embeddings)
    from_local = Advisor(make_client(local), embeddings).answer(QUESTION)
    assert [r.id for r in from_local.recommendations] == [r["id"] for r in recommended]


def test_the_bot_answers_from_the_last_good_index_while_an_ingest_runs(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", chroma_url=chroma_server.url)
    advisor = build_advisor(settings)
    advisor.embeddings.load()
    probe = make_client(chroma_url=chroma_server.url)  # what an operator would look at, beside the bot
    first = ingest_in_process(probe, fixture_knowledge, advisor.embeddings)
    advisor.load()
    complete = {first: chunk_count(fixture_knowledge)}
    assert advisor.catalog.collection_name == first and AZ_104_ID not in advisor.catalog.credentials

    (fixture_knowledge / "credentials" / "azure-admin.yaml").write_text(AZ_104, encoding="utf-8")
    mark_every_summary(fixture_knowledge)  # enough re-embedding that the bot is asked while it is written
    known_ids = fixture_ids(fixture_knowledge)
    complete_next = chunk_count(fixture_knowledge)
    process = start_ingest(fixture_knowledge, product_env(chroma_server.url, settings.data_dir), tmp_path)
    pause = PauseWhenHalfWritten(process, chroma_server.url, live=first, complete=complete_next)
    pause.start()
    answered = answered_while_half_written = 0
    try:
        while process.poll() is None:
            half_written = pause.paused.is_set() and not pause.resumed.is_set()
            answer = advisor.answer(QUESTION)
            served_from = advisor.catalog.collection_name
            # every answer comes from a generation that was complete when it was loaded, never a partial one
            assert served_from in complete or served_from == active_collection_name(probe), served_from
            assert len(advisor.catalog.chunks) == complete.get(served_from, complete_next)
            assert answer.recommendations and {r.id for r in answer.recommendations} <= known_ids
            answered += 1
            if half_written:
                assert served_from == first and active_collection_name(probe) == first
                answered_while_half_written += 1
                if answered_while_half_written == ANSWERS_WHILE_HALF_WRITTEN:
                    pause.resume()
    finally:
        pause.stop()
    ingest = finish(process)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert "1 added" in ingest.stdout and " 0 updated" not in ingest.stdout, ingest.stdout
    assert pause.half_written, "the ingest ended before it was seen writing its new generation"
    assert answered_while_half_written == ANSWERS_WHILE_HALF_WRITTEN, answered_while_half_written
    assert answered > answered_while_half_written

    second = active_collection_name(probe)
    assert second is not None and second != first
    assert generations(probe) == {first: complete[first], second: complete_next}
    # a slow ingest may outlast the periodic pointer check, which then switched already
    switched_while_answering = advisor.catalog.collection_name == second
    assert advisor.refresh(force=True) is not switched_while_answering
    assert advisor.catalog.collection_name == second
    assert AZ_104_ID in advisor.catalog.credentials
    assert all(MARK in c.summary for c in advisor.catalog.credentials.values())
    about = advisor.answer("tell me about AZ-104")
    assert about.recommendations and about.recommendations[0].id == AZ_104_ID


def test_a_killed_ingest_leaves_the_old_generation_live_and_its_lock_is_taken_over_once_stale(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    probe = make_client(chroma_url=chroma_server.url)
    old = ingest_in_process(probe, fixture_knowledge, embeddings)
    chunks = chunk_count(fixture_knowledge)
    advisor = Advisor(make_client(chroma_url=chroma_server.url), embeddings)
    advisor.load()
    mark_every_summary(fixture_knowledge)
    env = product_env(chroma_server.url, tmp_path / "data")

    process = start_ingest(fixture_knowledge, env, tmp_path)
    partial: dict[str, int] = {}
    while process.poll() is None and not partial:
        # the moment picked: the new generation holds the copied chunks but not yet the re-embedded ones
        partial = {g: n for g, n in newer_than(old, generations(probe)).items() if 0 < n < chunks}
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    killed = finish(process)
    assert partial, f"the ingest ended (exit {killed.returncode}) before it was seen writing a new generation"
    assert killed.returncode == -signal.SIGKILL

    [half_built] = partial
    assert active_collection_name(probe) == old
    assert generations(probe)[half_built] < chunks  # left behind, half written, and never made live
    for reader in (advisor, Advisor(make_client(chroma_url=chroma_server.url), embeddings)):
        reader.refresh(force=True)
        answer = reader.answer(QUESTION)
        assert reader.catalog.collection_name == old and len(reader.catalog.chunks) == chunks
        assert answer.recommendations
        assert not any(MARK in c.summary for c in reader.catalog.credentials.values())

    # the dead ingest's lock stays on the server and is respected while its heartbeat is recent:
    # the server cannot tell a dead ingest from one that is slow to answer
    dead = lock_holder(probe)
    assert dead is not None and dead.pid == process.pid
    refused = run_ingest(fixture_knowledge, env, tmp_path)
    assert refused.returncode == LOCK_BUSY_EXIT, refused.stderr[-2000:]
    assert f"{SERVER_LOCK_HOLDER} pid {process.pid}" in refused.stderr
    assert active_collection_name(probe) == old and half_built in generations(probe)

    age_the_lock(probe, STALE_AFTER_SECONDS + 5)
    ingest = run_ingest(fixture_knowledge, env, tmp_path)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert f"taking over the stale ingest lock of pid {process.pid}" in ingest.stderr
    assert lock_holder(probe) is None, "the ingest that took the lock over released it when done"
    new = active_collection_name(probe)
    assert new not in (None, old, half_built)
    assert generations(probe) == {old: chunks, new: chunks}, "the half-built generation is dropped"
    assert advisor.refresh(force=True) and advisor.catalog.collection_name == new
    assert all(MARK in c.summary for c in advisor.catalog.credentials.values())
    assert advisor.answer(QUESTION).recommendations


def test_two_ingests_sharing_data_dir_are_serialised(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path
) -> None:
    env = product_env(chroma_server.url, tmp_path / "data")
    _, second = second_while_first_is_building(chroma_server.url, fixture_knowledge, env, env, tmp_path)
    # the file lock in DATA_DIR refused it, before it asked the server
    assert SERVER_LOCK_HOLDER not in second.stderr


def test_two_ingests_on_different_machines_are_serialised_by_the_server_lock(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path
) -> None:
    """Two machines share only the Chroma server: each has its own DATA_DIR, so no file lock is shared."""
    first_env = product_env(chroma_server.url, tmp_path / "machine-a")
    second_env = product_env(chroma_server.url, tmp_path / "machine-b")
    first_pid, second = second_while_first_is_building(
        chroma_server.url, fixture_knowledge, first_env, second_env, tmp_path
    )
    assert f"{SERVER_LOCK_HOLDER} pid {first_pid}" in second.stderr


def second_while_first_is_building(
    chroma_url: str, knowledge: Path, first_env: dict[str, str], second_env: dict[str, str], cwd: Path
) -> tuple[int, Finished]:
    """Start an ingest, run a second one while the first is held mid-build, check that the second was
    refused and wrote nothing and that the first completed; the first's pid and the second's outcome."""
    probe = make_client(chroma_url=chroma_url)
    first = start_ingest(knowledge, first_env, cwd)
    try:
        building: dict[str, int] = {}
        while first.poll() is None and not building:
            building = generations(probe)
            time.sleep(0.005)
        assert building, "the first ingest ended before it was seen writing"
        # hold the first one mid-build, so the second certainly starts while the first holds the lock
        first.send_signal(signal.SIGSTOP)
        try:
            second = run_ingest(knowledge, second_env, cwd)
        finally:
            first.send_signal(signal.SIGCONT)
        assert second.returncode == LOCK_BUSY_EXIT, second.stderr[-2000:]
        assert "another ingest is running on this index" in second.stderr
        assert "Traceback" not in second.stderr
        # the second wrote nothing: it neither dropped the first's unfinished generation nor moved the pointer
        [in_progress] = building
        assert in_progress in generations(probe) and active_collection_name(probe) is None

        done = finish(first)
    finally:
        if first.poll() is None:  # an assertion failed: do not leave the first one running
            first.kill()
            first.wait()
    assert done.returncode == 0, done.stderr[-2000:]
    assert active_collection_name(probe) == in_progress
    assert generations(probe) == {in_progress: chunk_count(knowledge)}
    assert lock_holder(probe) is None, "the first released the server lock"
    return first.pid, second


def test_an_unreachable_server_is_a_clear_error_not_a_traceback(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path
) -> None:
    url = chroma_server.url
    chroma_server.stop()
    env = product_env(url, tmp_path / "data")
    commands = {
        "ingest": [sys.executable, "-m", "ingest", "--knowledge", str(fixture_knowledge), "--quiet"],
        "ask": bot_command("ask", "--json", QUESTION),
    }
    for name, command in commands.items():
        done = subprocess.run(
            command,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PROCESS_WITHIN_SECONDS,
        )
        assert done.returncode == 1, (name, done.stderr[-2000:])
        assert f"error: cannot reach the Chroma server at {url}" in done.stderr, (name, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, name
        assert done.stdout == "", name


def test_an_advisor_follows_the_pointer_when_its_generation_was_dropped(
    chroma_server: ChromaServer, fixture_knowledge: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    """Each ingest keeps the live generation and the one before; two quick ones drop the generation a bot reads."""
    operator = make_client(chroma_url=chroma_server.url)
    first = ingest_in_process(operator, fixture_knowledge, embeddings)
    advisor = Advisor(make_client(chroma_url=chroma_server.url), embeddings)
    advisor.load()
    assert advisor.answer(QUESTION).recommendations  # the periodic pointer check is now fresh
    (fixture_knowledge / "credentials" / "azure-admin.yaml").write_text(AZ_104, encoding="utf-8")
    ingest_in_process(operator, fixture_knowledge, embeddings)
    mark_every_summary(fixture_knowledge)
    third = ingest_in_process(operator, fixture_knowledge, embeddings)
    assert first not in generations(operator)

    # a question that needs the vector search finds the generation gone and follows the pointer
    assert advisor.answer(QUESTION).recommendations
    assert advisor.catalog.collection_name == third
    about = advisor.answer("tell me about AZ-104")
    assert about.recommendations and about.recommendations[0].id == AZ_104_ID


def test_an_ingest_whose_lock_was_taken_over_does_not_switch_the_index(
    chroma_server: ChromaServer, fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    probe = make_client(chroma_url=chroma_server.url)
    old = ingest_in_process(probe, fixture_knowledge, embeddings)
    chunks = chunk_count(fixture_knowledge)
    mark_every_summary(fixture_knowledge)
    # another machine's ingest that judges every lock stale, as one does once a stall outlasts the limit
    usurper = ServerIngestLock(make_client(chroma_url=chroma_server.url), stale_after=0.0)

    process = start_ingest(fixture_knowledge, product_env(chroma_server.url, tmp_path / "data"), tmp_path)
    try:
        unswitched = half_written_generation(process, probe, live=old, complete=chunks)
        process.send_signal(signal.SIGSTOP)
        try:
            usurper.acquire()
        finally:
            process.send_signal(signal.SIGCONT)
        overtaken = finish(process)
    finally:
        if process.poll() is None:  # an assertion failed: do not leave the ingest running
            process.kill()
            process.wait()
    try:
        assert overtaken.returncode == LOCK_LOST_EXIT, overtaken.stderr[-2000:]
        [error] = [line for line in overtaken.stderr.splitlines() if line.startswith("error:")]
        assert f"another ingest (pid {os.getpid()} on " in error and "the index was not switched" in error
        assert "Traceback" not in overtaken.stderr and overtaken.stdout == ""
        # it finished and verified its generation, and the check before the switch stopped it
        assert active_collection_name(probe) == old
        assert generations(probe) == {old: chunks, unswitched: chunks}
        # and it left the new owner's lock alone
        held = lock_holder(probe)
        assert held is not None and held.token == usurper.token
        usurper.check()
    finally:
        usurper.release()
    assert lock_holder(probe) is None


def test_the_server_lock_admits_one_holder_and_is_no_index(
    chroma_server: ChromaServer, fixture_knowledge: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    assert not LOCK_COLLECTION.startswith(GENERATION_PREFIX) and LOCK_COLLECTION != POINTER_COLLECTION
    probe = make_client(chroma_url=chroma_server.url)
    holder = ServerIngestLock(make_client(chroma_url=chroma_server.url), heartbeat_every=0.05)
    holder.acquire()
    try:
        first = lock_holder(probe)
        assert first is not None and (first.token, first.pid) == (holder.token, os.getpid())
        # a live holder keeps its heartbeat fresh, in the same collection
        deadline = time.monotonic() + PROCESS_WITHIN_SECONDS
        latest = first
        while latest.heartbeat == first.heartbeat and time.monotonic() < deadline:
            time.sleep(0.02)
            latest = lock_holder(probe) or first
        assert latest.heartbeat > first.heartbeat and latest.collection_id == first.collection_id

        with pytest.raises(LockBusy) as busy:
            ServerIngestLock(make_client(chroma_url=chroma_server.url)).acquire()
        assert busy.value.holder is not None and f"pid {os.getpid()} on " in busy.value.holder

        # an index build beside it neither takes the lock for a generation nor drops it, and a reader
        # of the index answers as if it were not there
        live = ingest_in_process(probe, fixture_knowledge, embeddings)
        assert generations(probe) == {live: chunk_count(fixture_knowledge)}
        assert Advisor(make_client(chroma_url=chroma_server.url), embeddings).answer(QUESTION).recommendations
        holder.check()
    finally:
        holder.release()
    assert lock_holder(probe) is None
    after = ServerIngestLock(make_client(chroma_url=chroma_server.url))
    after.acquire()
    after.check()
    after.release()


HOLD_THE_LOCK = """
import sys, time
from ingest.index import make_client
from ingest.locking import ServerIngestLock
lock = ServerIngestLock(make_client(chroma_url=sys.argv[1]), heartbeat_every=0.1)
lock.acquire()
print(lock.token, flush=True)
time.sleep(600)
"""


def test_the_lock_of_a_killed_holder_is_taken_over_once_its_heartbeat_is_stale(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    probe = make_client(chroma_url=chroma_server.url)
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, chroma_server.url],
        env=product_env(chroma_server.url, tmp_path / "data"),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        token = child.stdout.readline().strip()
        assert token, child.communicate(timeout=PROCESS_WITHIN_SECONDS)[1][-2000:]
        held = lock_holder(probe)
        assert held is not None and (held.token, held.pid) == (token, child.pid)
        with pytest.raises(LockBusy):
            ServerIngestLock(probe).acquire()
    finally:
        child.kill()
        child.communicate()
    dead = lock_holder(probe)
    assert dead is not None and dead.token == token, "nothing removes a dead holder's lock but a taker"

    taker = ServerIngestLock(probe, stale_after=1.0)
    deadline = time.monotonic() + PROCESS_WITHIN_SECONDS
    while True:
        try:
            taker.acquire()
            break
        except LockBusy:
            assert time.monotonic() < deadline, "the dead holder's lock never went stale"
            time.sleep(0.1)
    try:
        mine = lock_holder(probe)
        assert mine is not None and (mine.token, mine.pid) == (taker.token, os.getpid())
        assert mine.collection_id != dead.collection_id
        assert probe.heartbeat() / 1e9 - dead.heartbeat > taker.stale_after
        taker.check()
    finally:
        taker.release()
    assert lock_holder(probe) is None
