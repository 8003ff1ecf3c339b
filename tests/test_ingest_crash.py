"""`kill -9` of an ingest in the middle of writing leaves the previous index live, and the next ingest completes.

The kill comes the moment the ingest says it has begun writing a new generation, so it lands while the
generation is half written however fast or slow the machine is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bench.harness.models import MODEL_CACHE
from bot.advisor import Advisor
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import GENERATION_PREFIX, make_client
from tests.conftest import ROOT, ingest_into
from tests.support.extra_knowledge import MARK, mark_every_summary

WRITING = "writing index generation"
PROCESS_WITHIN_SECONDS = 240.0


async def ingest(knowledge: Path, chroma: Path, *, kill_when_writing: bool) -> tuple[int, str]:
    """Run `python -m ingest`; with `kill_when_writing`, SIGKILL it as soon as it starts a new generation."""
    env = {**os.environ, "LOG_LEVEL": "INFO", "MODEL_CACHE_DIR": str(MODEL_CACHE), "HF_HUB_OFFLINE": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ingest",
        "--knowledge",
        str(knowledge),
        "--chroma-path",
        str(chroma),
        "--quiet",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    said: list[str] = []

    async def read_until_writing() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            said.append(raw.decode(errors="replace"))
            if kill_when_writing and WRITING in said[-1]:
                process.send_signal(signal.SIGKILL)
                return

    await asyncio.wait_for(read_until_writing(), PROCESS_WITHIN_SECONDS)
    await asyncio.wait_for(process.wait(), PROCESS_WITHIN_SECONDS)
    assert process.returncode is not None
    return process.returncode, "".join(said)


def live_index(chroma: Path, embeddings: SentenceTransformerEmbeddings) -> tuple[str | None, int, bool]:
    """The live generation, how many chunks it serves and whether it has the edited text; it must answer."""
    advisor = Advisor(make_client(chroma), embeddings)
    advisor.load()
    answer = advisor.answer("which cert for cloud?")
    assert answer.recommendations  # an ordinary grounded answer
    catalog = advisor.catalog
    edited = [MARK in c.summary for c in catalog.credentials.values()]
    assert all(edited) or not any(edited), "the live index mixes the old and the new knowledge"
    return catalog.collection_name, len(catalog.chunks), all(edited)


def generation_names(chroma: Path) -> set[str]:
    return {c.name for c in make_client(chroma).list_collections() if c.name.startswith(GENERATION_PREFIX)}


async def test_a_killed_ingest_leaves_the_previous_index_answering(
    fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    ingest_into(fixture_knowledge, chroma, embeddings)
    old, chunks_before, edited = live_index(chroma, embeddings)
    assert not edited
    mark_every_summary(fixture_knowledge)

    returncode, said = await ingest(fixture_knowledge, chroma, kill_when_writing=True)
    assert returncode == -signal.SIGKILL, f"the ingest ended (exit {returncode}) before it could be killed:\n{said}"
    live, chunks, edited = live_index(chroma, embeddings)
    assert chunks == chunks_before
    if not edited:  # killed before the switch, as nearly always: the half-built generation is left, never live
        assert live == old and len(generation_names(chroma) - {old}) == 1

    returncode, said = await ingest(fixture_knowledge, chroma, kill_when_writing=False)
    assert returncode == 0, said[-2000:]
    live, chunks, edited = live_index(chroma, embeddings)
    assert edited and chunks == chunks_before and live != old
    assert generation_names(chroma) <= {old, live}  # the half-built generation was cleared away
