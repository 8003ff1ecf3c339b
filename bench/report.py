"""What every benchmark shares on the way out: the machine, spreads over repeats, tables, the JSON file."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    try:
        import torch

        torch_version: str = torch.__version__
        torch_threads: int | None = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency of the project
        torch_version, torch_threads = "not installed", None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch_version,
        "torch_threads": torch_threads,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; the figures are small samples, so no interpolation pretends otherwise."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def spread(per_run: Iterable[float], digits: int = 2) -> dict[str, float]:
    """One figure measured once per repeat: its median, min and max over the repeats."""
    values = list(per_run)
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": len(values),
    }


def percentiles_over_runs(runs: Sequence[Sequence[float]], qs: Sequence[int] = (50, 95, 99)) -> dict[str, Any]:
    """p50/p95/... within each run, then their spread over the runs."""
    return {f"p{q}": spread(percentile(run, q) for run in runs) for q in qs}


def cell(figure: dict[str, float] | None, unit: str = "", digits: int = 1) -> str:
    """`median (min-max)`, or `-` when the figure was not measured."""
    if not figure:
        return "-"
    if figure["runs"] == 1 or figure["min"] == figure["max"]:
        return f"{figure['median']:.{digits}f}{unit}"
    return f"{figure['median']:.{digits}f}{unit} ({figure['min']:.{digits}f}-{figure['max']:.{digits}f})"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def target(name: str, value: float | None, limit: float, unit: str) -> dict[str, Any]:
    """A target to stay under; `met` is None when the figure was not measured."""
    return {
        "name": name,
        "value": value,
        "limit": limit,
        "unit": unit,
        "met": None if value is None else value <= limit,
    }


def write_json(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
