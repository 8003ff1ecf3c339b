"""`python -m bot.eval FILE.jsonl`: score the advisor and two baselines on evaluation cases.

Systems: dense-only (Chroma similarity over credentials), lexical-only (BM25 over credentials)
and the full advisor. Figures: hit@1, hit@3, MRR, domain accuracy, scope accuracy and
answer-fragment accuracy, per kind and overall.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.advisor import Advisor, Answer, Intent, Profile, Recommendation
from ingest.schema import fold


class EvalCase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: str
    kind: str
    lang: str = "en"
    expect_any: list[str] = Field(default_factory=list)
    expect_domain: str | None = None
    expect_answer_any: list[str] = Field(default_factory=list)
    expect_in_scope: bool | None = None
    profile: Profile | None = None


@dataclass
class Outcome:
    expects_rank: bool = False  # the case names expected recommendations
    rank: int | None = None  # 1-based rank of the first expected recommendation
    domain_ok: bool | None = None
    language_ok: bool = True  # the reply is in the question's language
    scope_ok: bool | None = None
    answer_ok: bool | None = None


def first_hit_rank(names: Sequence[str], fragments: Sequence[str]) -> int | None:
    wanted = [fold(f) for f in fragments]
    for position, name in enumerate(names, 1):
        folded = f" {fold(name)} "
        if any(f" {w} " in folded or w in fold(name) for w in wanted if w):
            return position
    return None


def score(case: EvalCase, answer: Answer) -> Outcome:
    names = [r.name for r in answer.recommendations]
    out = Outcome(expects_rank=bool(case.expect_any))
    if case.expect_any:
        out.rank = first_hit_rank(names, case.expect_any)
    if case.expect_domain:
        top = answer.recommendations[:1]
        out.domain_ok = bool(top) and case.expect_domain in top[0].domains
    expected_scope = case.expect_in_scope if case.expect_in_scope is not None else case.kind != "out_of_scope"
    out.scope_ok = answer.in_scope == expected_scope
    if case.expect_answer_any:
        text = answer.text.lower()
        out.answer_ok = any(fragment.lower() in text for fragment in case.expect_answer_any)
    out.language_ok = answer.language == case.lang
    return out


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    def figures(self) -> dict[str, float | int | None]:
        def mean(values: list[float]) -> float | None:
            return round(sum(values) / len(values), 3) if values else None

        hits = [o for o in self.outcomes if o.expects_rank]
        return {
            "cases": len(self.outcomes),
            "hit@1": mean([1.0 if o.rank == 1 else 0.0 for o in hits]),
            "hit@3": mean([1.0 if o.rank is not None and o.rank <= 3 else 0.0 for o in hits]),
            "mrr": mean([1.0 / o.rank if o.rank else 0.0 for o in hits]),
            "domain": mean([1.0 if o.domain_ok else 0.0 for o in self.outcomes if o.domain_ok is not None]),
            "scope": mean([1.0 if o.scope_ok else 0.0 for o in self.outcomes if o.scope_ok is not None]),
            "answer": mean([1.0 if o.answer_ok else 0.0 for o in self.outcomes if o.answer_ok is not None]),
            "language": mean([1.0 if o.language_ok else 0.0 for o in self.outcomes]),
            "ranked_cases": len(hits),
        }


System = Callable[[EvalCase], Answer]


def run_system(system: System, cases: Sequence[EvalCase]) -> dict[str, dict[str, float | int | None]]:
    by_kind: dict[str, Tally] = defaultdict(Tally)
    by_language: dict[str, Tally] = defaultdict(Tally)
    overall = Tally()
    for case in cases:
        outcome = score(case, system(case))
        by_kind[case.kind].outcomes.append(outcome)
        by_language[case.lang].outcomes.append(outcome)
        overall.outcomes.append(outcome)
    result = {kind: tally.figures() for kind, tally in sorted(by_kind.items())}
    if len(by_language) > 1:  # a file in several languages is also read per language
        result.update({f"lang:{code}": tally.figures() for code, tally in sorted(by_language.items())})
    result["overall"] = overall.figures()
    return result


def _baseline_answer(case: EvalCase, recs: list[Recommendation], scope: bool) -> Answer:
    return Answer(
        question=case.question,
        intent=Intent.RECOMMEND,
        in_scope=scope,
        mode="baseline",
        text=" ".join(r.name for r in recs),
        recommendations=recs,
    )


def baselines(advisor: Advisor) -> dict[str, System]:
    """The simple alternatives: one retrieval method, top credentials listed, everything in scope."""
    state = advisor.state

    def recs(ids: Sequence[str]) -> list[Recommendation]:
        out = []
        for cid in ids:
            c = state.catalog.credentials[cid]
            out.append(
                Recommendation(
                    id=c.id,
                    name=c.name,
                    provider=c.provider,
                    domains=[d.value for d in c.domains],
                    level=c.level.value,
                    status=c.status.value,
                    url=c.url,
                )
            )
        return out

    def dense(case: EvalCase) -> Answer:
        hits = state.dense.search(advisor.embeddings.embed_query(case.question), 5, kinds=["credential"])
        return _baseline_answer(case, recs([h.chunk.record_id for h in hits]), True)

    def lexical(case: EvalCase) -> Answer:
        hits = state.lexical.search(case.question, 5, kinds=["credential"])
        return _baseline_answer(case, recs([h.chunk.record_id for h in hits]), True)

    return {"dense-only": dense, "lexical-only": lexical}


def load_cases(path: Path) -> list[EvalCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append(EvalCase.model_validate_json(line))
            except ValueError as error:
                raise SystemExit(f"error: {path}:{number}: not a valid eval case: {error}") from None
    return cases


def evaluate(advisor: Advisor, cases: Sequence[EvalCase]) -> dict[str, Any]:
    systems: dict[str, System] = baselines(advisor)
    systems["advisor"] = lambda case: advisor.answer(case.question, case.profile)
    return {name: run_system(system, cases) for name, system in systems.items()}


METRICS = ("hit@1", "hit@3", "mrr", "domain", "scope", "answer", "language")


def table(results: dict[str, Any]) -> str:
    systems = list(results)
    groups = list(results[systems[0]])
    header = "| group | cases | system | " + " | ".join(METRICS) + " |"
    lines = [header, "|" + "---|" * (3 + len(METRICS))]
    for group in groups:
        for system in systems:
            figures = results[system][group]
            cells = ["-" if figures[m] is None else f"{figures[m]:.3f}" for m in METRICS]
            lines.append(f"| {group} | {figures['cases']} | {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--failures", action="store_true", help="list the advisor's misses")
    args = parser.parse_args(argv)

    from bot.config import SettingsError, load_settings
    from bot.services import build_advisor

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    advisor = build_advisor(settings)
    if _is_labelled_messages(args.file):
        from bot.eval_understanding import evaluate_understanding, understanding_table
        from ingest.corpus import load_messages

        messages = load_messages(args.file)
        advisor.load()
        understood = evaluate_understanding(advisor, messages)
        print(understanding_table(understood))
        if args.json:
            args.json.write_text(json.dumps(understood, indent=2), encoding="utf-8")
        return 0
    cases = load_cases(args.file)
    advisor.load()
    results = evaluate(advisor, cases)
    print(table(results))
    if args.failures:
        for case in cases:
            answer = advisor.answer(case.question, case.profile)
            outcome = score(case, answer)
            bad = (
                (case.expect_any and (outcome.rank is None or outcome.rank > 3))
                or outcome.scope_ok is False
                or outcome.answer_ok is False
                or outcome.domain_ok is False
            )
            if bad:
                print(
                    f"MISS {case.kind} {case.question!r}: intent={answer.intent.value} recs={[r.name for r in answer.recommendations[:3]]} {outcome}"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def _is_labelled_messages(path: Path) -> bool:
    """A file of labelled user messages (intent and fields), rather than of questions with expected answers."""
    with path.open(encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "{}")
    return "intent" in json.loads(first)


if __name__ == "__main__":
    raise SystemExit(main())
