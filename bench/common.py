"""What the benchmarks share on the way in: paths, the evaluation questions, one embedding model, one advisor."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from bot.advisor import Advisor
from bot.advisor.models import Profile
from bot.advisor.service import ClassifierSource
from bot.config import Settings, load_settings
from bot.eval import load_cases
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client
from ingest.multilingual import NO_MODEL, MultilingualEmbeddings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"
# Shaped like a real token so the bot's redaction treats it as one; the Bot API server is local.
TOKEN = "123456789:AABenchmarkTokenNotARealOne_abcdefghij"


@dataclass(frozen=True)
class Question:
    text: str
    profile: Profile | None = None


def eval_file() -> Path:
    return Path(os.environ.get("BENCH_EVAL_FILE", DEFAULT_EVAL))


def load_questions(path: Path) -> list[Question]:
    if not path.exists():
        print(f"warning: no evaluation file at {path} (set BENCH_EVAL_FILE); timing one question only")
        return [Question("which cert for cloud?")]
    return [Question(case.question, case.profile) for case in load_cases(path)]


def dir_size_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 2)


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The peak resident set (VmHWM) of a process, from /proc; None where /proc is not there."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def rss_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


@dataclass
class BenchContext:
    """Built once per `python -m bench` run; the model and the project's index load on first use."""

    repeats: int | None = None  # None: each benchmark's own default
    questions_path: Path = field(default_factory=eval_file)
    model_load_seconds: float | None = None

    def repeats_or(self, default: int) -> int:
        return self.repeats if self.repeats is not None else default

    @cached_property
    def settings(self) -> Settings:
        return load_settings()

    @cached_property
    def questions(self) -> list[Question]:
        return load_questions(self.questions_path)

    @cached_property
    def embeddings(self) -> SentenceTransformerEmbeddings:
        model = SentenceTransformerEmbeddings(
            self.settings.embedding_model,
            backend=self.settings.embedding_backend,
            cache_dir=self.settings.model_cache_path,
        )
        started = time.perf_counter()
        model.load()
        self.model_load_seconds = round(time.perf_counter() - started, 2)
        return model

    def advisor_over(self, chroma_path: Path) -> Advisor:
        """A loaded advisor over a Chroma directory, sharing the one embedding model."""
        advisor = Advisor(make_client(chroma_path), self.embeddings)
        advisor.load()
        return advisor

    @cached_property
    def advisor(self) -> Advisor:
        """The advisor over the project's own index (`make ingest`), as the bot builds it: with the
        understanding classifiers and, unless MULTILINGUAL_MODEL=none, the multilingual model."""
        settings = self.settings
        client = make_client(None, settings.chroma_url) if settings.chroma_url else make_client(settings.index_path)
        advisor = Advisor(
            client,
            self.embeddings,
            understanding=ClassifierSource(settings.knowledge_dir, settings.model_cache_path),
            multilingual=MultilingualEmbeddings() if settings.multilingual_model != NO_MODEL else None,
        )
        advisor.load()
        return advisor
