"""`make bench`: warm Advisor.answer latency over the evaluation questions, beside a plain baseline.

Prints a Markdown table and writes bench/results/latest.json. Each figure is the median of
repeated runs, with min and max.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.eval import load_cases
from bot.services import build_advisor

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"
REPEATS = 5


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(runs: list[list[float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        per_run = [percentile(r, q) for r in runs]
        out[name] = {"median": statistics.median(per_run), "min": min(per_run), "max": max(per_run)}
    return out


def main() -> int:
    settings = load_settings()
    eval_file = Path(os.environ.get("BENCH_EVAL_FILE", DEFAULT_EVAL))
    questions = [case.question for case in load_cases(eval_file)] if eval_file.exists() else ["which cert for cloud?"]
    advisor = build_advisor(settings)
    started = time.perf_counter()
    advisor.load()
    load_seconds = time.perf_counter() - started
    for question in questions:  # warm-up: first calls pay for lazy initialisation
        advisor.answer(question)

    advisor_runs, baseline_runs = [], []
    store = advisor.state.dense.store
    for _ in range(REPEATS):
        timings = []
        for question in questions:
            t0 = time.perf_counter()
            advisor.answer(question)
            timings.append((time.perf_counter() - t0) * 1000)
        advisor_runs.append(timings)
        timings = []
        for question in questions:
            t0 = time.perf_counter()
            docs = store.similarity_search(question, k=5)
            "\n".join(d.page_content.splitlines()[0] for d in docs)
            timings.append((time.perf_counter() - t0) * 1000)
        baseline_runs.append(timings)

    result: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version()},
        "questions": len(questions),
        "repeats": REPEATS,
        "advisor_load_seconds": round(load_seconds, 2),
        "answer_latency_ms": {
            "advisor": summarise(advisor_runs),
            "chroma_similarity_search_baseline": summarise(baseline_runs),
        },
    }
    advisor_p50 = result["answer_latency_ms"]["advisor"]["p50"]["median"]
    base_p50 = result["answer_latency_ms"]["chroma_similarity_search_baseline"]["p50"]["median"]
    result["advisor_to_baseline_p50_ratio"] = round(advisor_p50 / base_p50, 2) if base_p50 else None

    out = ROOT / "bench" / "results" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")

    print(
        f"machine: {result['machine']['cores']} cores, {result['machine']['cpu']}; {len(questions)} questions x {REPEATS} runs"
    )
    print(f"advisor load (model + index): {load_seconds:.2f} s\n")
    print("| system | p50 ms (min-max) | p95 ms (min-max) | p99 ms (min-max) |")
    print("|---|---|---|---|")
    for name, figures in result["answer_latency_ms"].items():
        cells = [
            f"{figures[p]['median']:.1f} ({figures[p]['min']:.1f}-{figures[p]['max']:.1f})"
            for p in ("p50", "p95", "p99")
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nadvisor / baseline p50 ratio: {result['advisor_to_baseline_p50_ratio']}")
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
