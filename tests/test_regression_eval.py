"""The advisor on our own regression questions (more phrasings per intent than the dev set)."""

from __future__ import annotations

from pathlib import Path

from bot.advisor import Advisor
from bot.eval import evaluate, load_cases

REGRESSION = Path(__file__).resolve().parent / "eval" / "regression.jsonl"


def test_advisor_meets_quality_bars_and_beats_baselines(advisor: Advisor) -> None:
    results = evaluate(advisor, load_cases(REGRESSION))
    full = results["advisor"]["overall"]
    assert full["hit@3"] is not None and full["hit@3"] >= 0.9
    assert full["mrr"] is not None and full["mrr"] >= 0.85
    assert full["scope"] == 1.0
    assert full["answer"] is not None and full["answer"] >= 0.9
    for baseline in ("dense-only", "lexical-only"):
        assert full["mrr"] > results[baseline]["overall"]["mrr"]


def test_every_out_of_scope_case_is_refused(advisor: Advisor) -> None:
    for case in load_cases(REGRESSION):
        if case.kind == "out_of_scope":
            answer = advisor.answer(case.question)
            assert not answer.in_scope, case.question
            assert answer.recommendations == []
