"""Answer latency, warm, in grounded mode: `Advisor.answer` percentiles, where the time goes, and a plain baseline.

The split calls the advisor's stages one by one in the order `answer()` chains them
(bot/advisor/service.py): understanding, the query embedding, retrieval (dense, lexical and the
facet-filtered dense searches, then fusion), ranking and composing. Ranking runs inside
`AnswerPolicy.answer` (bot/advisor/policy.py), so it is timed by wrapping the ranking function for
the duration of the staged call; composing is the rest of the policy's answer. Before anything is timed, every question is
answered both ways and compared: a staged answer that differs from `answer()` means the split no
longer follows the advisor, and a warning says so.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from bench.common import BenchContext, Question
from bench.report import cell, percentile, percentiles_over_runs, spread, table, target
from bot.advisor import Advisor, Answer
from bot.advisor import policy as advisor_policy
from bot.advisor.policy import AnswerPolicy
from bot.advisor.ranking import Candidate
from bot.advisor.retrieval import Retrieved, gather, reciprocal_rank_fusion
from bot.advisor.service import DENSE_K, LEXICAL_K, Reader
from bot.advisor.understanding import understand
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.multilingual import MultilingualEmbeddings

DEFAULT_REPEATS = 5
BASELINE_K = 5
P95_TARGET_MS = 60.0
STAGES = ("understanding", "embedding", "retrieval", "ranking", "composing", "other")
RETRIEVAL_PARTS = ("dense", "lexical", "filtered", "fusion")


@dataclass
class RankTimer:
    """Seconds spent in the ranking function while `timing()` is active."""

    seconds: float = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        original = advisor_policy.rank

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> list[Candidate]:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        advisor_policy.rank = timed
        try:
            yield
        finally:
            advisor_policy.rank = original


@dataclass
class Staged:
    answer: Answer
    retrieved: Retrieved | None
    ms: dict[str, float] = field(default_factory=dict)  # stage (and retrieval part) -> milliseconds

    @property
    def total_ms(self) -> float:
        return sum(self.ms[s] for s in STAGES)


def staged_retrieve(
    advisor: Advisor,
    query: str,
    facets: Any,
    ms: dict[str, float],
    reader: Reader,
    embedded: list[float] | None = None,
) -> Retrieved:
    """`Advisor.retrieve`, step by step; `embedded` is the query's vector when the classifiers already made it."""
    state = advisor.state
    t0 = time.perf_counter()
    vector = embedded if embedded is not None else reader.embeddings.embed_query(query)
    t1 = time.perf_counter()
    dense = reader.dense.search(vector, DENSE_K)
    t2 = time.perf_counter()
    lexical = state.lexical.search(query, LEXICAL_K)
    t3 = time.perf_counter()
    filtered = advisor.filtered_searches(vector, facets, reader.dense)
    t4 = time.perf_counter()
    out = gather(dense, reciprocal_rank_fusion(dense, lexical, *filtered))
    t5 = time.perf_counter()
    ms.update(
        embedding=(t1 - t0) * 1000,
        dense=(t2 - t1) * 1000,
        lexical=(t3 - t2) * 1000,
        filtered=(t4 - t3) * 1000,
        fusion=(t5 - t4) * 1000,
    )
    ms["retrieval"] = ms["dense"] + ms["lexical"] + ms["filtered"] + ms["fusion"]
    return out


def staged_answer(advisor: Advisor, question: Question) -> Staged:
    """`Advisor.answer(question, profile)` for a first question (no history), one stage at a time."""
    ms = dict.fromkeys((*STAGES, *RETRIEVAL_PARTS), 0.0)
    t0 = time.perf_counter()
    with suppress(Exception):  # answer() logs and carries on with the current index; so does this
        advisor.refresh()
    state = advisor.state
    t1 = time.perf_counter()
    # which language: counted in the understanding stage, with the reading of the question
    language = advisor.languages.detect(question.text, state.vocab).language
    reader = advisor.reader_for(language)
    t_detected = time.perf_counter()
    # the question's embedding: the classifiers read it first, then retrieval finds it in the query cache, so
    # it is made once and counted in the embedding stage (the cache is off here: the vector is passed on)
    text = " ".join(question.text.split())
    vector = reader.embeddings.embed_query(text)
    t_embedded = time.perf_counter()
    prediction = reader.classifier.predict(question.text, vector) if reader.classifier is not None else None
    u = understand(question.text, state.catalog, state.vocab, question.profile, (), prediction)
    t2 = time.perf_counter()
    ms["other"] = (t1 - t0) * 1000
    ms["understanding"] = (t2 - t_embedded + t_detected - t1) * 1000
    embedding_ms = (t_embedded - t_detected) * 1000
    policy = AnswerPolicy(state.catalog, state.lexical)
    unsearched = policy.answer_unsearched(question.text, u)
    if unsearched is not None:
        ms["composing"] = (time.perf_counter() - t2) * 1000
        return Staged(unsearched, None, ms)
    retrieved = staged_retrieve(advisor, u.query, u.facets, ms, reader, vector if u.query == text else None)
    ms["embedding"] += embedding_ms
    ranking = RankTimer()
    t3 = time.perf_counter()
    with ranking.timing():
        answer = policy.answer(question.text, u, retrieved, question.profile)
    ms["ranking"] = ranking.seconds * 1000
    ms["composing"] = (time.perf_counter() - t3) * 1000 - ms["ranking"]
    return Staged(answer, retrieved, ms)


def same_answer(a: Answer, b: Answer) -> bool:
    return a.text == b.text and [r.id for r in a.recommendations] == [r.id for r in b.recommendations]


def check_split(advisor: Advisor, questions: Sequence[Question]) -> list[str]:
    """Questions whose staged answer (or retrieval) differs from the advisor's own."""
    differing = []
    for question in questions:
        expected = advisor.answer(question.text, question.profile)
        staged = staged_answer(advisor, question)
        retrieval_differs = False
        if staged.retrieved is not None:
            reader = advisor.reader_for(advisor.languages.detect(question.text, advisor.state.vocab).language)
            prediction = advisor.predict(question.text, reader)
            u = understand(question.text, advisor.state.catalog, advisor.state.vocab, question.profile, (), prediction)
            retrieval_differs = advisor.retrieve(u.query, u.facets, reader) != staged.retrieved
        if not same_answer(expected, staged.answer) or retrieval_differs:
            differing.append(question.text)
    return differing


def timed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def baseline_search(advisor: Advisor, question: str) -> str:
    """The plain LangChain way: similarity_search on the question, the top chunks' first lines as the reply."""
    docs = advisor.state.dense.store.similarity_search(question, k=BASELINE_K)
    return "\n".join(d.page_content.splitlines()[0] for d in docs if d.page_content)


def stage_figures(staged_runs: Sequence[Sequence[Staged]]) -> dict[str, Any]:
    """Per stage: mean and p95 ms per question, and share of the staged total, each spread over the runs."""
    out: dict[str, Any] = {}
    totals = [statistics.fmean(s.total_ms for s in run) for run in staged_runs]
    for name in (*STAGES, *RETRIEVAL_PARTS):
        means = [statistics.fmean(s.ms[name] for s in run) for run in staged_runs]
        p95s = [percentile([s.ms[name] for s in run], 95) for run in staged_runs]
        out[name] = {
            "mean_ms": spread(means, 3),
            "p95_ms": spread(p95s, 3),
            "share_percent": spread((100 * m / t for m, t in zip(means, totals, strict=True)), 1),
        }
    return out


@contextmanager
def query_cache_off(*models: SentenceTransformerEmbeddings | MultilingualEmbeddings | None) -> Iterator[None]:
    """Every query embedded afresh: repeated passes over the same questions must not measure cache hits."""
    caches = [model.query_cache for model in models if model is not None]
    sizes = [cache.size for cache in caches]
    for cache in caches:
        cache.clear()
        cache.size = 0
    try:
        yield
    finally:
        for cache, size in zip(caches, sizes, strict=True):
            cache.size = size


def repeated_question_ms(advisor: Advisor, questions: Sequence[Question], repeats: int) -> dict[str, Any]:
    """`answer()` for a question asked before, whose embedding the query cache holds."""
    for q in questions:
        advisor.answer(q.text, q.profile)
    runs = [[timed_ms(functools.partial(advisor.answer, q.text, q.profile)) for q in questions] for _ in range(repeats)]
    return percentiles_over_runs(runs)


def measure(advisor: Advisor, questions: Sequence[Question], repeats: int, *, split: bool = True) -> dict[str, Any]:
    """Warm `answer()` percentiles (and the stage split, the baseline) over `repeats` passes of the questions.

    The model and the index are warm; the query cache is off, so every pass embeds every question.
    A question asked again (a cache hit) is measured on its own afterwards.
    """
    with query_cache_off(advisor.embeddings, advisor.multilingual):
        result = _measure_uncached(advisor, questions, repeats, split=split)
    if split:
        result["repeated_question_ms"] = repeated_question_ms(advisor, questions, repeats)
    return result


def _measure_uncached(advisor: Advisor, questions: Sequence[Question], repeats: int, *, split: bool) -> dict[str, Any]:
    differing = check_split(advisor, questions) if split else []  # also the warm-up pass
    for text in differing:
        print(f"warning: the staged call answers differently from Advisor.answer for {text!r}")
    answer_runs: list[list[float]] = []
    staged_runs: list[list[Staged]] = []
    baseline_runs: list[list[float]] = []
    per_question: dict[str, list[float]] = defaultdict(list)
    intents: dict[str, str] = {}
    for _ in range(repeats):
        run = []
        for q in questions:
            started = time.perf_counter()
            answer = advisor.answer(q.text, q.profile)
            run.append((time.perf_counter() - started) * 1000)
            per_question[q.text].append(run[-1])
            intents[q.text] = answer.intent.value
        answer_runs.append(run)
        if split:
            staged_runs.append([staged_answer(advisor, q) for q in questions])
            baseline_runs.append([timed_ms(functools.partial(baseline_search, advisor, q.text)) for q in questions])
    result: dict[str, Any] = {
        "questions": len(questions),
        "repeats": repeats,
        "answer_ms": percentiles_over_runs(answer_runs),
        "answer_mean_ms": spread((statistics.fmean(r) for r in answer_runs), 2),
    }
    if not split:
        return result
    slowest = sorted(per_question.items(), key=lambda kv: -statistics.median(kv[1]))[:3]
    result |= {
        "staged_total_ms": percentiles_over_runs([[s.total_ms for s in run] for run in staged_runs]),
        "stages": stage_figures(staged_runs),
        "split_differs_for": differing,
        "baseline_ms": percentiles_over_runs(baseline_runs),
        "baseline": f"langchain Chroma.similarity_search(question, k={BASELINE_K}), first line of each hit",
        "slowest_questions": [
            {"question": text, "intent": intents[text], "median_ms": round(statistics.median(ms), 2)}
            for text, ms in slowest
        ],
    }
    base = result["baseline_ms"]
    result["ratio_to_baseline"] = {
        p: round(result["answer_ms"][p]["median"] / base[p]["median"], 2) if base[p]["median"] else None
        for p in ("p50", "p95")
    }
    return result


def run(ctx: BenchContext) -> dict[str, Any]:
    result = measure(ctx.advisor, ctx.questions, ctx.repeats_or(DEFAULT_REPEATS))
    result["index"] = ctx.advisor.state.catalog.collection_name
    result["chunks"] = len(ctx.advisor.state.catalog.chunks)
    result["targets"] = [target("answer p95, ms", result["answer_ms"]["p95"]["median"], P95_TARGET_MS, "ms")]
    return result


def render(result: dict[str, Any]) -> str:
    answer, base, staged = result["answer_ms"], result["baseline_ms"], result["staged_total_ms"]
    repeated = result["repeated_question_ms"]
    rows = [
        ["Advisor.answer", *(cell(answer[p]) for p in ("p50", "p95", "p99"))],
        ["staged call (sum of the stages)", *(cell(staged[p]) for p in ("p50", "p95", "p99"))],
        ["baseline: Chroma.similarity_search", *(cell(base[p]) for p in ("p50", "p95", "p99"))],
        [
            "Advisor.answer, a question asked before (query cache hit)",
            *(cell(repeated[p]) for p in ("p50", "p95", "p99")),
        ],
        [
            "ratio advisor / baseline",
            f"{result['ratio_to_baseline']['p50']}x",
            f"{result['ratio_to_baseline']['p95']}x",
            "",
        ],
    ]
    stages = result["stages"]
    stage_rows = [
        [
            name if name in STAGES else f"  retrieval: {name}",
            cell(stages[name]["mean_ms"], digits=2),
            cell(stages[name]["p95_ms"], digits=2),
            cell(stages[name]["share_percent"], "%"),
        ]
        for name in (*STAGES[:3], *RETRIEVAL_PARTS, *STAGES[3:])
    ]
    slow = "; ".join(f"{q['question']!r} ({q['intent']}) {q['median_ms']} ms" for q in result["slowest_questions"])
    return (
        f"### Answer latency, warm, grounded: {result['questions']} questions x {result['repeats']} runs"
        f" ({result['chunks']} chunks; every question embedded afresh unless marked)\n\n"
        + table(("ms (target p95 <= 60)", "p50", "p95", "p99"), rows)
        + "\n\nWhere the time goes (staged call; mean and p95 per question, share of the staged total):\n\n"
        + table(("stage", "mean ms", "p95 ms", "share"), stage_rows)
        + f"\n\nslowest questions (median): {slow}"
        + (
            f"\nWARNING: staged call differs for {len(result['split_differs_for'])} question(s)"
            if result["split_differs_for"]
            else ""
        )
    )
