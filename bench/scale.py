"""Scale: answer latency and index size when the knowledge base is 1x, 10x, 100x its size.

For each factor a synthetic knowledge base (the real records plus variants, bench/synthetic.py)
is written to a temporary directory, ingested through the ingest package into a fresh Chroma
directory, and answered from by a fresh advisor; then the ingest is run again with no change.
Embedding is the slow part: on two cores the 100x base (about 40,000 chunks) takes the better part
of an hour, so the default factors are 1 and 10 and 100x is asked for with `--scale 1,10,100`.

A step that fails at a size is recorded with its error rather than ending the run.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import BenchContext, dir_size_mb
from bench.ingest_speed import ingest_once
from bench.latency import RETRIEVAL_PARTS, STAGES, measure
from bench.report import cell, table
from bench.synthetic import write_scaled
from bot.advisor import Advisor

DEFAULT_FACTORS = (1, 10)
DEFAULT_REPEATS = 3


def _error(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def load_advisor(ctx: BenchContext, chroma: Path) -> tuple[Advisor | None, float, str | None]:
    """The advisor over `chroma` and its load time, or the error that stopped it loading."""
    started = time.perf_counter()
    try:
        return ctx.advisor_over(chroma), time.perf_counter() - started, None
    except Exception as error:
        failure = _error(error)
        print(f"warning: the advisor cannot load this index ({failure})")
        return None, time.perf_counter() - started, failure


def one_factor(ctx: BenchContext, factor: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{factor}x-") as tmp:
        knowledge = ctx.settings.knowledge_dir
        started = time.perf_counter()
        if factor > 1:
            knowledge = Path(tmp) / "knowledge"
            write_scaled(ctx.settings.knowledge_dir, knowledge, factor)
        written = time.perf_counter() - started
        chroma = Path(tmp) / "chroma"
        chroma.mkdir()
        ingested = ingest_once(knowledge, chroma, ctx.embeddings)
        size = dir_size_mb(chroma)
        advisor, loaded, load_error = load_advisor(ctx, chroma)
        latency = measure(advisor, ctx.questions, repeats) if advisor is not None else None
        del advisor
        gc.collect()
        try:
            again = ingest_once(knowledge, chroma, ctx.embeddings)
            no_change: dict[str, Any] = {"seconds": round(again.seconds, 2), "wrote": again.report.wrote_anything}
        except Exception as error:
            no_change = {"error": _error(error)}
            print(f"warning: the no-change re-ingest at {factor}x failed: {no_change['error']}")
        return {
            "factor": factor,
            "records": ingested.report.records,
            "chunks": ingested.report.chunks,
            "write_knowledge_seconds": round(written, 1),
            "ingest_seconds": round(ingested.seconds, 1),
            "ingest_chunks_per_second": round(ingested.report.chunks / ingested.seconds, 1),
            "index_size_mb": size,
            "advisor_load_seconds": round(loaded, 2),
            # set when Advisor.load failed on this index; there is no latency then
            "advisor_load_error": load_error,
            "latency": latency,
            "no_change_reingest": no_change,
        }


def run(ctx: BenchContext, factors: tuple[int, ...] = DEFAULT_FACTORS) -> dict[str, Any]:
    repeats = ctx.repeats_or(DEFAULT_REPEATS)
    return {"repeats": repeats, "factors": [one_factor(ctx, factor, repeats) for factor in factors]}


def render(result: dict[str, Any]) -> str:
    rows = []
    for f in result["factors"]:
        size = (f"{f['factor']}x", f["records"], f["chunks"], f["ingest_seconds"], f["index_size_mb"])
        if f["latency"] is None:
            rows.append((*size, "fails", *[""] * 6))
            continue
        answer, stages = f["latency"]["answer_ms"], f["latency"]["stages"]
        biggest = max(STAGES, key=lambda s: stages[s]["mean_ms"]["median"])
        rows.append(
            (
                *size,
                f["advisor_load_seconds"],
                cell(answer["p50"]),
                cell(answer["p95"]),
                " / ".join(f"{stages[s]['mean_ms']['median']:.1f}" for s in STAGES[:5]),
                " / ".join(f"{stages[s]['mean_ms']['median']:.1f}" for s in RETRIEVAL_PARTS),
                f"{biggest} {stages[biggest]['share_percent']['median']:.0f}%",
                f["no_change_reingest"].get("seconds", "fails"),
            )
        )
    header = (
        "scale",
        "records",
        "chunks",
        "ingest s",
        "index MB",
        "advisor load s",
        "answer p50 ms",
        "answer p95 ms",
        "mean ms: understand / embed / retrieve / rank / compose",
        "retrieve: dense / lexical / filtered / fusion",
        "largest stage",
        "no-change re-ingest s",
    )
    errors = [
        f"{f['factor']}x {step}: {error}"
        for f in result["factors"]
        for step, error in (
            ("Advisor.load", f["advisor_load_error"]),
            ("no-change ingest", f["no_change_reingest"].get("error")),
        )
        if error
    ]
    return (
        f"### Scale: synthetic variants of the real records, {result['repeats']} runs\n\n"
        + table(header, rows)
        + "".join(f"\n\nFAILED at {e}" for e in errors)
    )
