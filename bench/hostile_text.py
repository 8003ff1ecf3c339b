"""The understanding step on the longest, most repetitive messages Telegram lets through (4,096 characters).

    .venv/bin/python -m bench.hostile_text [--repeats N]

Prints, per shape of text, the time `understand` takes on the real knowledge base's vocabulary and how that time
grows from 1,024 to 4,096 characters. A step linear in the text's length grows about 4x; 16x is quadratic. The
step holds the GIL and runs for every message, so one such message must not stall everyone else's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.report import table
from bot.advisor.catalog import Catalog
from bot.advisor.understanding import understand
from bot.advisor.vocabulary import Vocabulary
from ingest.chunking import build_chunks
from ingest.loader import load_knowledge
from ingest.vocabulary import VOCABULARY_FILE, load_vocabulary

TELEGRAM_MAX_CHARS = 4096
KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
# One unit repeated to the length: runs of digits, separators and words are what made number patterns quadratic.
SHAPES = {
    "digits": "1",
    "digits and commas": "1,",
    "decimal points": "1.",
    "dollar signs": "$1",
    "spaces": " ",
    "letters": "a",
    "capitalised words": "Aws ",
    "budget words": "under ",
    "hours words": "1 hours ",
    "exam codes": "AZ-",
}


def _seconds(text: str, catalog: Catalog, vocab: Vocabulary, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        understand(text, catalog, vocab)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_text", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the fastest is reported")
    args = parser.parse_args(argv)
    catalog = Catalog.from_chunks(
        "bench", build_chunks(load_knowledge(KNOWLEDGE)), load_vocabulary(KNOWLEDGE / VOCABULARY_FILE)
    )
    vocab = catalog.vocabulary
    rows = []
    for name, unit in SHAPES.items():
        short = _seconds((unit * TELEGRAM_MAX_CHARS)[: TELEGRAM_MAX_CHARS // 4], catalog, vocab, args.repeats)
        full = _seconds((unit * TELEGRAM_MAX_CHARS)[:TELEGRAM_MAX_CHARS], catalog, vocab, args.repeats)
        rows.append([name, f"{short * 1000:.2f}", f"{full * 1000:.2f}", f"{full / short:.1f}x"])
    print(table(["text", "1,024 chars (ms)", "4,096 chars (ms)", "growth"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
