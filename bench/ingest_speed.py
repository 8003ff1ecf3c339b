"""Ingest: the whole knowledge base from empty into a fresh Chroma directory, then a re-run with no change.

Both runs go through the ingest package's own steps, in the order `python -m ingest` takes them
(load and validate, chunk, take the lock, open the client, build the index), with the embedding
model already loaded: its load time is reported on its own. The no-change re-run is also timed as
a new `python -m ingest` process, which is what a deployment pays at every start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchContext, dir_size_mb
from bench.report import cell, spread, table, target
from ingest.chunking import build_chunks
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import IngestReport, build_index, make_client
from ingest.loader import load_knowledge
from ingest.locking import IngestLock

DEFAULT_REPEATS = 3
NO_CHANGE_TARGET_PERCENT = 5.0


@dataclass
class Timed:
    report: IngestReport
    seconds: float
    load_seconds: float  # reading, validating and chunking the knowledge base


def ingest_once(knowledge: Path, chroma: Path, embeddings: SentenceTransformerEmbeddings) -> Timed:
    """One ingest as `python -m ingest` runs it, minus the interpreter start and the model load."""
    started = time.perf_counter()
    kb = load_knowledge(knowledge)
    chunks = build_chunks(kb)
    loaded = time.perf_counter()
    with IngestLock(chroma / ".ingest.lock"):
        client = make_client(chroma)
        report = build_index(client, chunks, embeddings, records=kb.record_count)
    return Timed(report, time.perf_counter() - started, loaded - started)


def cli_ingest_seconds(knowledge: Path, chroma: Path, model: str) -> float:
    """Wall time of `python -m ingest` in a new process: imports, model load, validation and the index check."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LOG_LEVEL": "WARNING", "EMBEDDING_MODEL": model}
    env.pop("CHROMA_URL", None)
    command = [sys.executable, "-m", "ingest", "--knowledge", str(knowledge), "--chroma-path", str(chroma), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run(ctx: BenchContext) -> dict[str, Any]:
    knowledge = ctx.settings.knowledge_dir
    embeddings = ctx.embeddings
    repeats = ctx.repeats_or(DEFAULT_REPEATS)
    full: list[Timed] = []
    unchanged: list[Timed] = []
    cli_unchanged: list[float] = []
    sizes: list[float] = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            chroma = Path(tmp) / "chroma"
            chroma.mkdir()
            full.append(ingest_once(knowledge, chroma, embeddings))
            sizes.append(dir_size_mb(chroma))
            unchanged.append(ingest_once(knowledge, chroma, embeddings))
            if unchanged[-1].report.wrote_anything:
                print(f"warning: the no-change re-run wrote something: {unchanged[-1].report.summary()}")
            cli_unchanged.append(cli_ingest_seconds(knowledge, chroma, embeddings.model_name))
    report = full[0].report
    ratios = [100 * u.seconds / f.seconds for f, u in zip(full, unchanged, strict=True)]
    return {
        "knowledge": str(knowledge),
        "records": report.records,
        "chunks": report.chunks,
        "repeats": repeats,
        "model_load_seconds": ctx.model_load_seconds,
        "full": {
            "seconds": spread(t.seconds for t in full),
            "load_and_chunk_seconds": spread(t.load_seconds for t in full),
            "records_per_second": spread(report.records / t.seconds for t in full),
            "chunks_per_second": spread(report.chunks / t.seconds for t in full),
            "index_size_mb": spread(sizes),
        },
        "no_change": {
            "seconds": spread((t.seconds for t in unchanged), 3),
            "load_and_chunk_seconds": spread((t.load_seconds for t in unchanged), 3),
            "percent_of_full": spread(ratios, 2),
            "cli_process_seconds": spread(cli_unchanged),
        },
        "targets": [
            target("ingest no-change re-run, % of full", spread(ratios)["median"], NO_CHANGE_TARGET_PERCENT, "%")
        ],
    }


def render(result: dict[str, Any]) -> str:
    full, same = result["full"], result["no_change"]
    rows = [
        ("full ingest from empty, s", cell(full["seconds"])),
        ("  of which reading + validating + chunking, s", cell(full["load_and_chunk_seconds"], digits=2)),
        ("records/s", cell(full["records_per_second"])),
        ("chunks/s", cell(full["chunks_per_second"])),
        ("index size on disk, MB", cell(full["index_size_mb"])),
        ("no-change re-run (model loaded), s", cell(same["seconds"], digits=3)),
        ("  of which reading + validating + chunking, s", cell(same["load_and_chunk_seconds"], digits=3)),
        ("no-change re-run, % of full (target < 5%)", cell(same["percent_of_full"], "%", digits=2)),
        ("no-change `python -m ingest` as a new process (imports, model load), s", cell(same["cli_process_seconds"])),
        ("embedding model load (once), s", result["model_load_seconds"]),
    ]
    return f"### Ingest: {result['records']} records, {result['chunks']} chunks, {result['repeats']} runs\n\n" + table(
        ("measure", "median (min-max)"), rows
    )
