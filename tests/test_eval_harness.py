"""The eval harness computes its figures correctly, including for a case built to fail."""

from __future__ import annotations

from bot.advisor import Answer, Intent, Recommendation
from bot.eval import EvalCase, Tally, first_hit_rank, run_system, score


def _rec(name: str, domain: str = "cloud") -> Recommendation:
    return Recommendation(
        id=name, name=name, provider="p", domains=[domain], level="beginner", status="active", url="https://x"
    )


def test_fragments_match_folded_names() -> None:
    assert first_hit_rank(["Microsoft Azure Fundamentals (AZ-900)"], ["az 900"]) == 1
    assert (
        first_hit_rank(["Other", "Google Digital Marketing & E-commerce Certificate"], ["digital marketing e commerce"])
        == 2
    )
    assert first_hit_rank(["Other"], ["missing"]) is None


def test_figures_per_kind_and_overall() -> None:
    answers = {
        "good": Answer(
            question="good",
            intent=Intent.RECOMMEND,
            in_scope=True,
            text="fine",
            recommendations=[_rec("A cert"), _rec("B cert")],
        ),
        "second": Answer(
            question="second",
            intent=Intent.RECOMMEND,
            in_scope=True,
            text="x",
            recommendations=[_rec("Z", "hr"), _rec("B cert")],
        ),
        # built to fail: the expected credential is absent, the scope is wrong and the fragment missing
        "bad": Answer(
            question="bad", intent=Intent.RECOMMEND, in_scope=True, text="nothing useful", recommendations=[_rec("Z")]
        ),
    }
    cases = [
        EvalCase(question="good", kind="recommend", expect_any=["a cert"], expect_domain="cloud"),
        EvalCase(question="second", kind="recommend", expect_any=["b cert"], expect_domain="cloud"),
        EvalCase(
            question="bad",
            kind="out_of_scope",
            expect_any=["a cert"],
            expect_in_scope=False,
            expect_answer_any=["refuse"],
        ),
    ]
    results = run_system(lambda case: answers[case.question], cases)
    overall = results["overall"]
    assert overall["cases"] == 3
    assert overall["hit@1"] == round(1 / 3, 3)
    assert overall["hit@3"] == round(2 / 3, 3)
    assert overall["mrr"] == round((1 + 0.5 + 0) / 3, 3)
    assert overall["domain"] == 0.5
    assert overall["scope"] == round(2 / 3, 3)
    assert overall["answer"] == 0.0
    assert results["recommend"]["mrr"] == 0.75
    assert results["out_of_scope"]["scope"] == 0.0


def test_a_case_without_expectations_only_counts_scope() -> None:
    outcome = score(
        EvalCase(question="hi", kind="smalltalk"),
        Answer(question="hi", intent=Intent.SMALLTALK, in_scope=True, text="Hi"),
    )
    tally = Tally([outcome])
    figures = tally.figures()
    assert figures["hit@1"] is None and figures["scope"] == 1.0


def test_a_file_in_several_languages_is_also_read_per_language() -> None:
    cases = [
        EvalCase(question="which cert for cloud?", kind="recommend", expect_any=["a cert"]),
        EvalCase(question="¿qué certificación de nube?", kind="recommend", lang="es", expect_any=["a cert"]),
    ]

    def system(case: EvalCase) -> Answer:  # answers in English, whatever the question's language
        return Answer(
            question=case.question, intent=Intent.RECOMMEND, in_scope=True, text="x", recommendations=[_rec("A cert")]
        )

    result = run_system(system, cases)
    assert result["lang:en"]["language"] == 1.0 and result["lang:es"]["language"] == 0.0
    assert result["overall"]["language"] == 0.5 and result["lang:es"]["hit@1"] == 1.0
    assert "lang:en" not in run_system(system, cases[:1])  # one language: no per-language rows
