"""`kill -9` of a running ingest at any moment leaves the previous index live, and the next ingest completes."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
import time
from pathlib import Path

from bot.advisor import Advisor
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client
from tests.conftest import REAL_KNOWLEDGE, ROOT

MARK = "Checked again in the crash test."


def edited_knowledge(target: Path) -> Path:
    """The real knowledge base with every credential summary changed, so an ingest rewrites ~200 chunks."""
    shutil.copytree(REAL_KNOWLEDGE, target)
    for path in (target / "credentials").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^(  summary: >-\n)", rf"\1    {MARK}\n", text), encoding="utf-8")
    return target


async def ingest(knowledge: Path, chroma: Path, kill_after: float | None) -> int | None:
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
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    if kill_after is None:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()[-2000:]
        return process.returncode
    try:
        await asyncio.wait_for(process.wait(), kill_after)
    except TimeoutError:
        process.send_signal(signal.SIGKILL)
    await process.wait()
    return process.returncode


def answers_from(chroma: Path, embeddings: SentenceTransformerEmbeddings) -> tuple[int, bool]:
    """How many chunks the live index serves, whether it has the edited text, and that it still answers."""
    advisor = Advisor(make_client(chroma), embeddings)
    advisor.load()
    answer = advisor.answer("which cert for cloud?")
    assert answer.recommendations and "Sources" not in answer.text  # an ordinary grounded answer
    catalog = advisor.catalog
    edited = any(MARK in c.summary for c in catalog.credentials.values())
    return len(catalog.chunks), edited


async def test_a_killed_ingest_leaves_the_previous_index_answering(
    real_index: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    shutil.copytree(real_index, chroma)
    chunks_before, edited = answers_from(chroma, embeddings)
    assert not edited
    knowledge = edited_knowledge(tmp_path / "knowledge")

    started = time.monotonic()
    await ingest(knowledge, tmp_path / "timing-copy", kill_after=None)  # how long a full run takes here
    full_run = time.monotonic() - started
    killed = 0
    for fraction in (0.35, 0.55, 0.7, 0.85, 0.95):
        returncode = await ingest(knowledge, chroma, kill_after=full_run * fraction)
        if returncode == -signal.SIGKILL:
            killed += 1
        chunks, edited = answers_from(chroma, embeddings)
        # either the old index or, if the kill came after the switch, the complete new one: never a mix
        assert chunks == chunks_before
        if edited:
            break
    assert killed >= 1, "no ingest was killed while running"

    await ingest(knowledge, chroma, kill_after=None)
    chunks, edited = answers_from(chroma, embeddings)
    assert edited and chunks == chunks_before
