"""`make bench`: ingest, answer latency, end to end through the Bot API, a flood, start-up and memory, and scale.

    .venv/bin/python -m bench [--only ingest,latency,e2e,flood,startup,scale] [--repeats N] [--scale 1,10,100]

Prints a Markdown table per benchmark and writes bench/results/latest.json. Each figure is the
median of repeated runs, with min and max. Benchmarks print figures; they never pass or fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import e2e, flood, ingest_speed, latency, scale, startup
from bench.common import RESULTS, BenchContext
from bench.report import cpu_model, machine, table, write_json
from bench.telegram_load import USERS, LoadPlan, plan_load

_cpu_model = cpu_model  # bench.nudges imports it under this name
BENCHMARKS = ("ingest", "latency", "e2e", "flood", "startup", "scale")
DEFAULT_JSON = RESULTS / "latest.json"


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(BENCHMARKS)}; got {text!r}")
    return names


def _factors(text: str) -> tuple[int, ...]:
    try:
        factors = tuple(int(n) for n in text.split(",") if n.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale factors are whole numbers such as 1,10,100; got {text!r}") from None
    if not factors or min(factors) < 1:
        raise argparse.ArgumentTypeError("scale factors are at least 1")
    return factors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", type=_names, default=BENCHMARKS, help=f"comma-separated: {','.join(BENCHMARKS)}")
    parser.add_argument("--repeats", type=int, help="runs per figure (default: 5 for latency, 3 for the rest)")
    parser.add_argument(
        "--scale",
        type=_factors,
        default=scale.DEFAULT_FACTORS,
        help="knowledge-base sizes for the scale benchmark (default 1,10; 100 adds about 45 minutes on 2 cores)",
    )
    parser.add_argument("--users", type=int, default=USERS, help="simulated Telegram users, 5 questions each")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the figures")
    return parser


class SharedPlan:
    """The end-to-end and start-up benchmarks send the same burst; its expected replies are worked out once."""

    def __init__(self, ctx: BenchContext, users: int) -> None:
        self.ctx, self.users = ctx, users
        self._plan: LoadPlan | None = None

    def get(self) -> LoadPlan:
        if self._plan is None:
            self._plan = plan_load(self.ctx.advisor, self.ctx.questions, users=self.users)
        return self._plan


def largest_costs(results: dict[str, Any]) -> list[str]:
    """Where optimisation would pay: the dominant stage and the slowest parts, in words."""
    notes = []
    if "latency" in results:
        stages = results["latency"]["stages"]
        ordered = sorted(latency.STAGES, key=lambda s: -stages[s]["mean_ms"]["median"])
        parts = sorted(latency.RETRIEVAL_PARTS, key=lambda s: -stages[s]["mean_ms"]["median"])
        notes.append(
            "answer(): "
            + ", ".join(f"{s} {stages[s]['share_percent']['median']:.0f}%" for s in ordered[:3])
            + "; within retrieval: "
            + ", ".join(f"{s} {stages[s]['mean_ms']['median']:.1f} ms" for s in parts[:3])
        )
    if "ingest" in results:
        full = results["ingest"]["full"]
        notes.append(
            f"ingest: {full['chunks_per_second']['median']:.1f} chunks/s; reading+validating+chunking is "
            f"{full['load_and_chunk_seconds']['median']:.1f} s of {full['seconds']['median']:.1f} s, the rest is embedding"
        )
    if "scale" in results and results["scale"]["factors"]:
        largest = results["scale"]["factors"][-1]
        stages = largest["latency"]["stages"]
        top = max(latency.STAGES, key=lambda s: stages[s]["mean_ms"]["median"])
        notes.append(
            f"at {largest['factor']}x: answer p95 {largest['latency']['answer_ms']['p95']['median']:.0f} ms, "
            f"largest stage {top} ({stages[top]['share_percent']['median']:.0f}%)"
        )
    return notes


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        _parser().error("--repeats must be at least 1")
    ctx = BenchContext(repeats=args.repeats)
    plan = SharedPlan(ctx, args.users)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "ingest": lambda: ingest_speed.run(ctx),
        "latency": lambda: latency.run(ctx),
        "e2e": lambda: e2e.run(ctx, plan.get()),
        "flood": lambda: flood.run(ctx),
        "startup": lambda: startup.run(ctx, plan.get()),
        "scale": lambda: scale.run(ctx, args.scale),
    }
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "ingest": ingest_speed.render,
        "latency": latency.render,
        "e2e": e2e.render,
        "flood": flood.render,
        "startup": startup.render,
        "scale": scale.render,
    }
    result: dict[str, Any] = {
        "machine": machine(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "eval_file": str(ctx.questions_path),
        "questions": len(ctx.questions),
        "embedding_backend": ctx.settings.embedding_backend,
    }
    sections: dict[str, Any] = {}
    for name in BENCHMARKS:
        if name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        load_before = os.getloadavg()[0]
        sections[name] = runners[name]()
        sections[name]["elapsed_seconds"] = round(time.perf_counter() - started, 1)
        sections[name]["load_average_1min"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
        write_json(result | sections, args.json)  # a later benchmark that fails keeps the earlier figures
    result |= sections
    targets = [t for section in sections.values() for t in section.get("targets", [])]
    result["targets"] = targets
    result["largest_costs"] = largest_costs(sections)
    result["model_load_seconds"] = ctx.model_load_seconds
    write_json(result, args.json)

    m = result["machine"]
    print(
        f"machine: {m['cores']} cores, {m['cpu']}; python {m['python']}, torch {m['torch']} "
        f"({m['torch_threads']} threads); load average at start {m['load_average_at_start']}; "
        f"EMBEDDING_BACKEND={result['embedding_backend']}\n"
    )
    for name, section in sections.items():
        print(renderers[name](section) + "\n")
    if targets:
        rows = [
            (
                t["name"],
                "-" if t["value"] is None else f"{t['value']} {t['unit']}",
                f"{t['limit']} {t['unit']}",
                {True: "met", False: "MISSED", None: "not measured"}[t["met"]],
            )
            for t in targets
        ]
        print("### Targets\n\n" + table(("target", "measured (median)", "limit", ""), rows) + "\n")
    for note in result["largest_costs"]:
        print(f"- {note}")
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
