"""Answers quote only what reads on its own: guides' quotable fields, standalone sentences, the aspect asked."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.advisor import Advisor, Intent, composer
from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.models import Facets
from bot.advisor.passages import best_sentences, quotable_sentences, wanted_terms
from bot.advisor.sources import SourceList
from ingest.__main__ import main as ingest_main
from ingest.loader import load_knowledge
from ingest.schema import QUOTES_MAX, QUOTES_MIN, SWITCH_QUOTE_FIELDS, GuideKind, GuideMeta, quote_problem
from tests.conftest import REAL_KNOWLEDGE
from tests.support.catalogs import catalog_of

_CITATION = re.compile(r"\s*\[\d+\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")
# Openings that lean on a sentence before them.
_LEANS_BACK = re.compile(r"^(?:For example|For instance|This|These|That|Those|They|Then)\b")
LABELS = ("What you already bring", "The gap to close", "Portfolio idea", "Watch out for")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_of(REAL_KNOWLEDGE)


def _said(text: str, label: str) -> str:
    line = next((line for line in text.splitlines() if line.startswith(f"{label}: ")), "")
    return _CITATION.sub("", line.removeprefix(f"{label}: ")).strip()


def _cited_title(text: str, label: str, sources: SourceList) -> str:
    line = next(line for line in text.splitlines() if line.startswith(f"{label}: "))
    number = int(re.findall(r"\[(\d+)\]", line)[-1])
    return sources.sources[number - 1].title


def _switch(catalog: Catalog, guide: str, occupation: str, role: str, question: str) -> tuple[str, SourceList]:
    sources = SourceList(catalog)
    text = composer.compose_switch(
        catalog.occupations[occupation],
        role,
        catalog.guide_chunks(guide),
        [],
        None,
        Facets(current_role=role),
        question,
        sources,
    )
    return text, sources


def _from_field(said: str, chunk: IndexedChunk, field: str) -> bool:
    """Whether a quote is one or more of the field's items, whole."""
    items = chunk.listed(field)
    return bool(said) and all(sentence in items for sentence in _SENTENCE.split(said))


def _assert_stands_alone(sentence: str) -> None:
    assert not sentence.endswith(":"), sentence
    assert "**" not in sentence, sentence
    assert not re.search(r"\bmake these mistakes\b", sentence), sentence
    assert sentence[:1].isupper() or sentence[:1].isdigit(), sentence


def _assert_quotes_stand_alone(text: str) -> None:
    """Every quoted line is whole sentences, and one that leans back comes after the sentence it leans on."""
    for line in text.splitlines():
        said = _CITATION.sub("", line).strip().removeprefix("- ")
        for label in LABELS:
            said = said.removeprefix(f"{label}: ")
        if not said or said == "Key points:" or said.startswith(("Moving ", "Your pathway", "What the role needs")):
            continue
        sentences = _SENTENCE.split(said)
        for position, sentence in enumerate(sentences):
            _assert_stands_alone(sentence)
            if position == 0:
                assert not _LEANS_BACK.match(sentence), line


# -- the guides' quotable fields --------------------------------------------------------------


def test_every_career_switch_guide_has_quotable_fields() -> None:
    kb = load_knowledge(REAL_KNOWLEDGE)
    switches = [g for g in kb.guides.values() if g.meta.kind is GuideKind.CAREER_SWITCH]
    assert len(switches) >= 14
    for guide in switches:
        for field in SWITCH_QUOTE_FIELDS:
            items = getattr(guide.meta, field)
            assert QUOTES_MIN <= len(items) <= QUOTES_MAX, (guide.path, field)
            for item in items:
                assert quote_problem(item) is None, (guide.path, field, item)


def test_quotable_fields_name_only_the_guides_credentials() -> None:
    kb = load_knowledge(REAL_KNOWLEDGE)
    # names a reader might see in a field, for credentials the guide does not list
    others = {c.id: [a for a in c.aliases if len(a) >= 4 and a.isupper()] for c in kb.credentials.values()}
    for guide in kb.guides.values():
        quoted = " ".join(" ".join(getattr(guide.meta, f)) for f in SWITCH_QUOTE_FIELDS)
        for cred_id, names in others.items():
            if cred_id in guide.meta.credentials:
                continue
            for name in names:
                assert not re.search(rf"\b{re.escape(name)}\b", quoted), (guide.path, name)


def _meta(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "from-somewhere",
        "title": "From somewhere to elsewhere",
        "kind": "career-switch",
        "summary": "How to move.",
        "last_verified": "2026-11-29",
        "strengths": [
            "You already explain complicated things calmly to anxious people.",
            "You document precisely and follow protocols every day.",
        ],
        "gaps": [
            "For data analytics, learn SQL and one visualisation tool.",
            "Learn enough basic statistics to tell a real difference.",
        ],
        "portfolio_ideas": [
            "Publish a dashboard of public data with a summary.",
            "Write a case study of a change you led at work.",
        ],
        "pitfalls": [
            "Never use real customer data in a portfolio.",
            "Do not quit your job before you have tested the fit.",
        ],
    }
    return {**base, **changes}


def test_a_well_formed_switch_guide_validates() -> None:
    meta = GuideMeta.model_validate(_meta())
    assert meta.gaps[0].startswith("For data analytics")


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("Healthcare workers switching to tech often make these mistakes:", "':'"),
        ("- Throwing away clinical credibility, which employers value.", "list marker"),
        ("**Throwing away clinical credibility.** Employers value it.", "Markdown"),
        ("For example, a dashboard of readmission rates by region works well.", "stand on its own"),
        ("Avoid these traps when you build a portfolio of your own.", "stand on its own"),
        ("Study the following topics before you apply for analyst roles.", "stand on its own"),
        ("This matters to every employer that handles patient data.", "stand on its own"),
        ("close the gap in SQL and one visualisation tool such as Tableau.", "capital"),
        ("Close the gap in SQL and one visualisation tool such as Tableau", "end with"),
        ("Learn SQL.", "characters"),
        ("Learn SQL, " + "spreadsheets, " * 20 + "and statistics.", "characters"),
    ],
)
def test_a_quote_that_does_not_stand_alone_is_rejected_by_name(item: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GuideMeta.model_validate(_meta(pitfalls=[item, "Do not quit your job before you have tested the fit."]))
    message = str(caught.value)
    assert "from-somewhere" in message and "pitfalls" in message and reason in message


@pytest.mark.parametrize("field", SWITCH_QUOTE_FIELDS)
def test_a_switch_guide_needs_each_field(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GuideMeta.model_validate(_meta(**{field: ["Only one sentence is not enough for this field here."]}))
    assert field in str(caught.value) and "from-somewhere" in str(caught.value)


def test_switch_fields_are_not_for_guidance_guides() -> None:
    with pytest.raises(ValidationError, match="career-switch guides only"):
        GuideMeta.model_validate(_meta(kind="guidance"))
    meta = GuideMeta.model_validate(
        {k: v for k, v in _meta(kind="guidance").items() if k not in SWITCH_QUOTE_FIELDS}
        | {"key_points": ["Certificates cost far less and take less time than a degree."]}
    )
    assert meta.key_points


def test_ingest_check_rejects_a_guide_with_a_cut_lead_in(
    fixture_knowledge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fixture_knowledge / "guides" / "from-it-support.md"
    text = path.read_text(encoding="utf-8")
    good = "Study with labs, because technical interviews expose gaps that reading alone leaves."
    assert good in text
    path.write_text(text.replace(good, "Support staff moving up often make these mistakes:"), encoding="utf-8")
    code = ingest_main(
        ["--knowledge", str(fixture_knowledge), "--chroma-path", str(fixture_knowledge / "c"), "--check"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "guides/from-it-support.md" in err and "pitfalls" in err and "from-it-support" in err


def test_ingest_check_rejects_a_switch_guide_without_the_fields(
    fixture_knowledge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fixture_knowledge / "guides" / "from-it-support.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"\nstrengths:\n(?:  - .*\n)+", "\n", text), encoding="utf-8")
    code = ingest_main(
        ["--knowledge", str(fixture_knowledge), "--chroma-path", str(fixture_knowledge / "c"), "--check"]
    )
    assert code == 1
    assert "strengths" in capsys.readouterr().err


# -- sentences that stand on their own --------------------------------------------------------


def _section(catalog: Catalog, guide: str, word: str) -> IndexedChunk:
    return next(c for c in catalog.guide_chunks(guide) if word in c.meta["heading"].lower())


def test_list_lead_ins_and_item_labels_are_not_quotable(catalog: Catalog) -> None:
    sentences = [s.text for s in quotable_sentences(_section(catalog, "from-healthcare", "pitfall").text)]
    assert sentences
    assert not any("make these mistakes" in s for s in sentences)
    assert "Throwing away clinical credibility." not in sentences
    assert any(s.startswith("Health-tech employers value your licence") for s in sentences)
    for sentence in sentences:
        _assert_stands_alone(sentence)


def test_a_sentence_leaning_on_the_one_before_comes_only_with_it(catalog: Catalog) -> None:
    gap = _section(catalog, "from-healthcare", "gap")
    sentences = quotable_sentences(gap.text)
    leaning = [s for s in sentences if s.text.startswith("These internal routes")]
    assert leaning and leaning[0].leans_on is not None
    assert sentences[leaning[0].leans_on].text.startswith("Many people make the jump internally")
    # asked about exactly what the leaning sentence says, it is still quoted after the one it leans on
    said = best_sentences(gap.text, wanted_terms("are internal routes into clinical informatics faster?"), 2)
    assert said.startswith("Many people make the jump internally") and "These internal routes" in said
    alone = best_sentences(gap.text, wanted_terms("are internal routes into clinical informatics faster?"), 1)
    assert not alone.startswith("These")


def test_a_for_example_without_its_sentence_is_never_quoted(catalog: Catalog) -> None:
    gap = _section(catalog, "from-healthcare", "gap")
    for question in ["how do I describe my nursing work?", "is charge nurse a good title?", "discharge delays"]:
        said = best_sentences(gap.text, wanted_terms(question), 1)
        assert said and not said.startswith("For example"), said
        assert not said.endswith(":")
    texts = [s.text for s in quotable_sentences(gap.text)]
    assert not any(t.startswith("For example") for t in texts)  # its sentence starts "All four", which leans back too


def test_the_healthcare_switch_quotes_the_guide_fields_not_cut_prose(catalog: Catalog) -> None:
    text, sources = _switch(
        catalog, "from-healthcare", "data-analyst", "nurse", "I'm a nurse, how do I become a data analyst?"
    )
    assert "make these mistakes:" not in text
    assert "The gap depends on which target you choose." not in text
    meta = catalog.guide_chunks("from-healthcare")[0]
    for label, field in zip(LABELS, SWITCH_QUOTE_FIELDS, strict=True):
        said = _said(text, label)
        assert _from_field(said, meta, field), (label, said)
    _assert_quotes_stand_alone(text)
    # each quote cites the section it summarises
    assert _cited_title(text, "The gap to close", sources).endswith("The gap to close")
    assert _cited_title(text, "Watch out for", sources).endswith("Pitfalls to avoid")
    assert _cited_title(text, "What you already bring", sources).endswith("Transferable skills")


@pytest.mark.parametrize(
    ("occupation", "question", "wanted", "unwanted"),
    [
        ("data-analyst", "I'm a nurse, how do I become a data analyst?", "SQL", "UX research"),
        ("ux-designer", "I'm a nurse, how do I become a UX designer?", "usability", "SQL"),
        ("project-manager", "I'm a nurse and want to be a project manager", "risk registers", "SQL"),
        ("it-support-specialist", "I'm a nurse and want to move into IT support", "troubleshooting", "SQL"),
    ],
)
def test_the_gap_quoted_is_the_one_for_the_target(
    catalog: Catalog, occupation: str, question: str, wanted: str, unwanted: str
) -> None:
    text, _ = _switch(catalog, "from-healthcare", occupation, "nurse", question)
    gap = _said(text, "The gap to close")
    assert wanted in gap and unwanted not in gap, gap
    portfolio = _said(text, "Portfolio idea")
    assert portfolio and unwanted not in portfolio, portfolio


def test_without_the_fields_the_switch_falls_back_to_sentences_that_stand_alone(catalog: Catalog) -> None:
    bare = [
        dataclasses.replace(c, meta={k: v for k, v in c.meta.items() if k not in SWITCH_QUOTE_FIELDS})
        for c in catalog.guide_chunks("from-healthcare")
    ]
    sources = SourceList(catalog)
    text = composer.compose_switch(
        catalog.occupations["it-support-specialist"],
        "nurse",
        bare,
        [],
        None,
        Facets(current_role="nurse"),
        "I'm a nurse and want to move into tech",
        sources,
    )
    for label in LABELS:
        assert _said(text, label), (label, text)
    assert "make these mistakes" not in text and "Throwing away clinical credibility." not in text
    _assert_quotes_stand_alone(text)


@pytest.mark.parametrize(
    "guide", ["from-retail", "from-teaching", "from-it-support", "from-journalism", "recent-graduate"]
)
def test_every_part_of_a_switch_plan_is_quoted_from_the_fields(catalog: Catalog, guide: str) -> None:
    chunk = catalog.guide_chunks(guide)[0]
    occupation = chunk.listed("to_occupations")[0]
    text, _ = _switch(catalog, guide, occupation, chunk.listed("from_roles")[0], f"how do I become a {occupation}?")
    for label, field in zip(LABELS, SWITCH_QUOTE_FIELDS, strict=True):
        said = _said(text, label)
        assert _from_field(said, chunk, field), (guide, label, said)


# -- guidance answers on the aspect asked ----------------------------------------------------

ASPECTS = [
    ("is a certificate worth it compared with a degree in terms of cost?", r"\bcosts?\b|tuition|\bfees?\b|dollars"),
    ("how do I show my badge on linkedin", r"LinkedIn"),
    ("how long does a bachelor's degree take compared with a certificate?", r"\byears\b|\bmonths\b|\bhours\b"),
    ("how long does it take to prepare for an exam?", r"\bhours\b|\bweeks?\b|\bmonths\b"),
    ("do certifications expire?", r"\bexpire|\brenew"),
    ("will my employer pay for my certification?", r"reimburs|sponsor|employer pays"),
    ("how can I tell if a certification is legit?", r"accredit|proctor|legitimate|issuer"),
    ("can I stack credentials into a degree?", r"\bstack|\bcredit\b"),
]


@pytest.mark.parametrize(("question", "aspect"), ASPECTS)
def test_a_guidance_answer_leads_with_the_aspect_asked(
    understanding_advisor: Advisor, question: str, aspect: str
) -> None:
    answer = understanding_advisor.answer(question)
    assert answer.intent is Intent.GUIDANCE, answer.intent
    lead = answer.text.split("\n\n", 1)[0]
    assert re.search(aspect, lead, re.I) or re.search(aspect, answer.text), answer.text
    # the aspect is in the opening paragraph or, failing that, in a key point; the cost one leads with it
    if "cost" in question or "linkedin" in question:
        assert re.search(aspect, lead, re.I), answer.text
    _assert_quotes_stand_alone(answer.text)


def test_the_cost_question_cites_the_section_on_cost(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer(ASPECTS[0][0])
    assert answer.sources[0].title.endswith("Cost and time: certificates compared with degrees")
    assert "Certificates and certifications cost far less" in answer.text.split("\n", 1)[0]
