"""Shared fixtures: the real embedding model, real Chroma directories and a local Bot API server."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bench.harness.botapi import FakeBotApi
from bench.harness.chroma_server import ChromaServer, ChromaServerUnavailable
from bench.harness.llm_server import LLMServer
from bench.harness.models import MODEL_CACHE
from ingest.chunking import build_chunks
from ingest.classifier import ensure_classifier
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import build_index, make_client
from ingest.loader import load_knowledge
from ingest.multilingual import MultilingualEmbeddings, ensure_chunk_vectors
from tests.support.databases import database_url, missing_service, postgres_database  # noqa: F401 -- fixtures for every module

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_KNOWLEDGE = Path(__file__).resolve().parent / "fixtures" / "knowledge"
REAL_KNOWLEDGE = ROOT / "knowledge"
TEST_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmn"


# Tests that use any of these fixtures bring up the embedding model, the whole knowledge base, a server or a
# subprocess; they are marked `slow` here, by what they use, so that `make test-fast` leaves them out without
# anyone having to remember a marker.
SLOW_FIXTURES = frozenset(
    {
        "embeddings",
        "real_index",
        "advisor",
        "understanding_advisor",
        "bot_api",
        "chroma_server",
        "postgres_database",
        "llm_server",
    }
)
# Modules whose tests take a minute or more each (real-time waits, several bot processes), longest first.
LONGEST_MODULES = ("tests/test_restarts.py", "tests/test_replicas.py", "tests/test_chroma_server.py")
# Names a test function refers to when it starts a process of its own.
PROCESS_STARTERS = frozenset({"bot_process", "create_subprocess_exec", "subprocess", "Popen", "run_ingest"})


def pytest_configure(config: pytest.Config) -> None:
    # Bot and ingest processes started by tests read questions in English only unless a test asks for the
    # multilingual model: otherwise each new data directory would train that model's classifiers again.
    # The in-process advisors that tests of the multilingual path use are given the model explicitly.
    os.environ.setdefault("MULTILINGUAL_MODEL", "none")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow_modules: set[str] = set()
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
            slow_modules.add(item.nodeid.split("::")[0])

    # The longest modules first, then the other modules with slow tests, then the quick ones, each module kept
    # whole (its fixtures are set up once): with one worker per core, quick tests fill the gaps at the end
    # instead of one long test running alone.
    def turn(item: pytest.Item) -> tuple[int, int]:
        module = item.nodeid.split("::")[0]
        longest = LONGEST_MODULES.index(module) if module in LONGEST_MODULES else len(LONGEST_MODULES)
        return longest, module not in slow_modules

    items.sort(key=turn)


def _is_slow(item: pytest.Item) -> bool:
    if set(getattr(item, "fixturenames", ())) & SLOW_FIXTURES:
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "postgresql" in callspec.params.values():  # the run on the PostgreSQL server
        return True
    code = getattr(getattr(item, "function", None), "__code__", None)
    return code is not None and bool(set(code.co_names) & PROCESS_STARTERS)


@pytest.fixture(scope="session")
def embeddings() -> SentenceTransformerEmbeddings:
    """The embedding model as the product runs it by default (ONNX when the model allows it)."""
    model = SentenceTransformerEmbeddings(cache_dir=MODEL_CACHE)
    model.load()
    return model


@pytest.fixture
def fixture_knowledge(tmp_path: Path) -> Path:
    """A private copy of the small fixture knowledge base, safe to edit."""
    target = tmp_path / "knowledge"
    shutil.copytree(FIXTURE_KNOWLEDGE, target)
    return target


def ingest_into(knowledge: Path, chroma: Path, embeddings: SentenceTransformerEmbeddings):  # type: ignore[no-untyped-def]
    kb = load_knowledge(knowledge)
    return build_index(make_client(chroma), build_chunks(kb), embeddings, records=kb.record_count)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, embeddings: SentenceTransformerEmbeddings) -> Path:
    """The whole real knowledge base, ingested once per test run into a Chroma directory that tests only read.

    With `pytest -n` the workers share one build: the first to take the lock ingests, the others wait
    for it and read the same directory.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's base directory, above each worker's own
    chroma = shared / "real-index" / "chroma"
    chroma.parent.mkdir(parents=True, exist_ok=True)
    with (shared / "real-index.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = chroma.parent / "built"
        if not built.exists():
            ingest_into(REAL_KNOWLEDGE, chroma, embeddings)
            # trained here, as `python -m ingest` does, so that no bot process started by a test trains it
            ensure_classifier(REAL_KNOWLEDGE, embeddings, MODEL_CACHE)
            multilingual = MultilingualEmbeddings()
            ensure_classifier(REAL_KNOWLEDGE, multilingual, MODEL_CACHE)
            chunks = build_chunks(load_knowledge(REAL_KNOWLEDGE))
            ensure_chunk_vectors([(c.id, c.text) for c in chunks], multilingual, MODEL_CACHE)
            built.touch()
    return chroma


@pytest.fixture(scope="session")
def advisor(real_index: Path, embeddings: SentenceTransformerEmbeddings):  # type: ignore[no-untyped-def]
    from bot.advisor import Advisor

    adv = Advisor(make_client(real_index), embeddings)
    adv.load()
    return adv


@pytest.fixture(scope="session")
def understanding_advisor(real_index: Path, embeddings: SentenceTransformerEmbeddings):  # type: ignore[no-untyped-def]
    """The advisor as the product builds it: the rules and the classifiers learned from the labelled corpus."""
    from bot.advisor import Advisor
    from bot.advisor.service import ClassifierSource

    adv = Advisor(
        make_client(real_index),
        embeddings,
        understanding=ClassifierSource(REAL_KNOWLEDGE, MODEL_CACHE),
        multilingual=MultilingualEmbeddings(),
    )
    adv.load()
    assert adv.classifier is not None and adv.multilingual_classifier is not None
    return adv


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(TEST_TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def llm_server() -> AsyncIterator[LLMServer]:
    """A scripted OpenAI-compatible server on loopback, the only language model tests talk to."""
    server = LLMServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings tests must not see the developer's own environment or .env."""
    for name in list(os.environ):
        if name.startswith(
            ("TELEGRAM_", "LLM_", "CHROMA_", "DATABASE_", "EMBEDDING_", "ALLOWED_", "ADMIN_", "LOG_", "DATA_DIR")
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server of its own for one test, stopped at teardown."""
    server = ChromaServer(tmp_path / "chroma-server")
    try:
        server.start()
    except ChromaServerUnavailable as missing:
        missing_service(str(missing))
    try:
        yield server
    finally:
        server.stop()
