"""Reciprocal rank fusion on hand-built lists, and the ranking rules on the fixture catalog."""

from __future__ import annotations

import json
import random

import pytest

from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.models import Facets, Intent, Profile
from bot.advisor.ranking import Candidate, rank
from bot.advisor.retrieval import RRF_K, Bm25Okapi, Scored, reciprocal_rank_fusion, tokenize
from ingest.chunking import build_chunks
from ingest.loader import load_knowledge
from ingest.schema import Domain, Level, Status
from tests.conftest import FIXTURE_KNOWLEDGE, ROOT
from tests.support.catalogs import catalog_of

CCP = "aws-certified-cloud-practitioner"
SAA = "aws-certified-solutions-architect-associate"
SAP = "aws-certified-solutions-architect-professional"
QUEST = "aws-cloud-quest-cloud-practitioner"
AZ900 = "microsoft-azure-fundamentals"
CLOUD_PLUS = "comptia-cloud-plus"
SEC_PLUS = "comptia-security-plus"
ISC2_CC = "isc2-certified-in-cybersecurity"
CISSP = "isc2-cissp"
GAIQ = "google-analytics-individual-qualification"
GA4 = "google-analytics-certification"

CLOUD = Facets(domains=[Domain.CLOUD])
SECURITY = Facets(domains=[Domain.CYBERSECURITY])


# -- reciprocal rank fusion --------------------------------------------------------------------


def _chunk(cid: str) -> IndexedChunk:
    return IndexedChunk(id=cid, text=cid, kind="credential", record_id=cid, title=cid, path="", meta={})


def _ranking(*ids: str, scores: list[float] | None = None) -> list[Scored]:
    scores = scores or [1.0] * len(ids)
    return [Scored(_chunk(cid), score) for cid, score in zip(ids, scores, strict=True)]


def _ids(fused: list[Scored]) -> list[str]:
    return [hit.chunk.id for hit in fused]


def test_fusion_rewards_agreement_between_lists() -> None:
    fused = reciprocal_rank_fusion(_ranking("a", "b", "c"), _ranking("b", "c", "a"))
    # b: ranks 2 and 1; a: ranks 1 and 3; c: ranks 3 and 2
    assert _ids(fused) == ["b", "a", "c"]
    scores = {hit.chunk.id: hit.score for hit in fused}
    assert scores["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert scores["a"] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 3))
    assert scores["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 2))


def test_fusion_uses_ranks_not_raw_scores() -> None:
    # a huge score on a low rank buys nothing: the lists' scales cannot be compared
    fused = reciprocal_rank_fusion(_ranking("a", "b", scores=[0.1, 1000.0]))
    assert _ids(fused) == ["a", "b"]
    assert [hit.score for hit in fused] == pytest.approx([1 / (RRF_K + 1), 1 / (RRF_K + 2)])


def test_an_item_in_one_list_only_keeps_its_single_contribution() -> None:
    fused = reciprocal_rank_fusion(_ranking("a", "b"), _ranking("a", "only-dense"))
    scores = {hit.chunk.id: hit.score for hit in fused}
    assert scores["only-dense"] == pytest.approx(1 / (RRF_K + 2))
    assert scores["b"] == pytest.approx(scores["only-dense"])
    # being found by both lists beats being first in one
    assert _ids(fused)[0] == "a"
    assert scores["a"] == pytest.approx(2 / (RRF_K + 1))


def test_ties_are_broken_by_chunk_id_whatever_the_input_order() -> None:
    one = reciprocal_rank_fusion(_ranking("zeta"), _ranking("alpha"))
    other = reciprocal_rank_fusion(_ranking("alpha"), _ranking("zeta"))
    assert _ids(one) == _ids(other) == ["alpha", "zeta"]
    assert one[0].score == one[1].score


def test_k_flattens_the_gap_between_neighbouring_ranks() -> None:
    fused = reciprocal_rank_fusion(_ranking(*[f"c{i:02d}" for i in range(10)]))
    first, second, tenth = fused[0].score, fused[1].score, fused[9].score
    assert first == pytest.approx(1 / (RRF_K + 1))
    assert tenth == pytest.approx(1 / (RRF_K + 10))
    # with k = 60 the tenth hit keeps most of the first hit's weight
    assert tenth / first == pytest.approx((RRF_K + 1) / (RRF_K + 10))
    assert first > second > tenth > first / 2


def test_weights_scale_each_list() -> None:
    fused = reciprocal_rank_fusion(_ranking("a"), _ranking("b"), weights=[1.0, 2.0])
    assert _ids(fused) == ["b", "a"]
    assert fused[0].score == pytest.approx(2 / (RRF_K + 1))
    with pytest.raises(ValueError, match="zip"):
        reciprocal_rank_fusion(_ranking("a"), _ranking("b"), weights=[1.0])


def test_fusion_of_nothing_is_empty() -> None:
    assert reciprocal_rank_fusion() == []
    assert reciprocal_rank_fusion([], []) == []


# -- ranking -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_of(FIXTURE_KNOWLEDGE)


def _rank(
    catalog: Catalog,
    relevance: dict[str, float],
    facets: Facets,
    profile: Profile | None = None,
    intent: Intent = Intent.RECOMMEND,
) -> list[Candidate]:
    return rank(catalog, relevance, facets, profile, intent)


def _order(cands: list[Candidate]) -> list[str]:
    return [c.credential.id for c in cands]


def _score(cands: list[Candidate], cred_id: str) -> float:
    return next(c.score for c in cands if c.credential.id == cred_id)


def _reasons(cands: list[Candidate], cred_id: str) -> list[str]:
    return next(c.reasons for c in cands if c.credential.id == cred_id)


def test_relevance_alone_decides_when_nothing_else_is_known(catalog: Catalog) -> None:
    ranked = _rank(catalog, {CCP: 0.5, AZ900: 1.0, QUEST: 0.2}, CLOUD)
    assert _order(ranked) == [AZ900, CCP, QUEST]


def test_over_budget_is_pushed_down(catalog: Catalog) -> None:
    relevance = {CLOUD_PLUS: 1.0, AZ900: 0.8, CCP: 0.7}
    assert _order(_rank(catalog, relevance, CLOUD))[0] == CLOUD_PLUS
    ranked = _rank(catalog, relevance, CLOUD.model_copy(update={"budget_usd": 100.0}))
    assert _order(ranked)[-1] == CLOUD_PLUS
    assert catalog.credentials[CLOUD_PLUS].cost.min > 100
    assert "within your budget" in _reasons(ranked, AZ900)
    assert "within your budget" not in _reasons(ranked, CLOUD_PLUS)


def test_a_budget_from_the_profile_counts_too(catalog: Catalog) -> None:
    relevance = {CLOUD_PLUS: 1.0, AZ900: 0.8, CCP: 0.7}
    ranked = _rank(catalog, relevance, CLOUD, Profile(budget_usd=100))
    assert _order(ranked)[-1] == CLOUD_PLUS


def test_a_price_range_across_the_budget_costs_less_than_one_above_it(catalog: Catalog) -> None:
    low, high = catalog.credentials[SEC_PLUS].cost.min, catalog.credentials[SEC_PLUS].cost.max
    relevance = {SEC_PLUS: 1.0}

    def score(budget: float) -> float:
        return _score(_rank(catalog, relevance, SECURITY.model_copy(update={"budget_usd": budget})), SEC_PLUS)

    below, across, above = score(low - 100), score((low + high) / 2), score(high + 100)
    assert below < across < above


def test_free_is_preferred_when_free_only(catalog: Catalog) -> None:
    relevance = {CCP: 1.0, AZ900: 0.9, QUEST: 0.6}
    assert _order(_rank(catalog, relevance, CLOUD))[0] == CCP
    ranked = _rank(catalog, relevance, CLOUD.model_copy(update={"budget_usd": 0.0, "free_only": True}))
    assert _order(ranked)[0] == QUEST
    assert catalog.credentials[QUEST].is_free
    assert "free to take" in _reasons(ranked, QUEST)


def test_a_credential_that_is_only_sometimes_free_is_not_called_free(catalog: Catalog) -> None:
    assert not catalog.credentials[ISC2_CC].is_free
    ranked = _rank(catalog, {ISC2_CC: 1.0}, SECURITY.model_copy(update={"budget_usd": 0.0, "free_only": True}))
    assert "free to take" not in _reasons(ranked, ISC2_CC)


@pytest.mark.parametrize(
    ("facets", "profile"),
    [
        (CLOUD.model_copy(update={"level": Level.BEGINNER}), None),
        (CLOUD, Profile(level=Level.BEGINNER)),
    ],
)
def test_a_beginner_is_not_given_an_advanced_cert_first(
    catalog: Catalog, facets: Facets, profile: Profile | None
) -> None:
    relevance = {SAP: 1.0, CCP: 0.4}
    assert _order(_rank(catalog, relevance, CLOUD))[0] == SAP
    ranked = _rank(catalog, relevance, facets, profile)
    assert _order(ranked) == [CCP, SAP]
    assert "beginner level, as you asked" in _reasons(ranked, CCP)


def test_an_advanced_learner_gets_the_advanced_cert_first(catalog: Catalog) -> None:
    ranked = _rank(catalog, {CCP: 1.0, SAA: 0.9, SAP: 0.6}, CLOUD.model_copy(update={"level": Level.ADVANCED}))
    assert _order(ranked)[0] == SAP


def test_a_career_switcher_of_unknown_level_starts_at_the_beginning(catalog: Catalog) -> None:
    relevance = {SAP: 1.0, CCP: 0.4}
    assert _order(_rank(catalog, relevance, CLOUD))[0] == SAP
    ranked = _rank(catalog, relevance, CLOUD, intent=Intent.CAREER_SWITCH)
    assert ranked[0].credential.level is Level.BEGINNER


def test_too_long_for_the_time_available_is_pushed_down(catalog: Catalog) -> None:
    relevance = {SEC_PLUS: 1.0, ISC2_CC: 0.85}
    assert _order(_rank(catalog, relevance, SECURITY))[0] == SEC_PLUS
    per_week = 2.0
    # Security+ takes more than half a year at two hours a week; CC does not
    assert catalog.credentials[SEC_PLUS].hours.min / per_week > 26 > catalog.credentials[ISC2_CC].hours.min / per_week
    ranked = _rank(catalog, relevance, SECURITY.model_copy(update={"hours_per_week": per_week}))
    assert _order(ranked)[0] == ISC2_CC


def test_time_fit_is_explained_in_weeks(catalog: Catalog) -> None:
    per_week = 10.0
    ranked = _rank(catalog, {ISC2_CC: 1.0}, SECURITY, Profile(hours_per_week=per_week))
    weeks = round(catalog.credentials[ISC2_CC].hours.max / per_week)
    assert f"doable in about {weeks} weeks at your pace" in _reasons(ranked, ISC2_CC)


def test_unmet_experience_prerequisite_is_pushed_down(catalog: Catalog) -> None:
    assert catalog.credentials[CISSP].experience_years == 5
    relevance = {CISSP: 1.0, SEC_PLUS: 0.6}
    facets = SECURITY.model_copy(update={"level": Level.INTERMEDIATE})
    experienced = _rank(catalog, relevance, facets, Profile(experience_years=8))
    newcomer = _rank(catalog, relevance, facets, Profile(experience_years=1))
    assert _order(experienced)[0] == CISSP
    assert _order(newcomer)[0] == SEC_PLUS
    assert _score(newcomer, CISSP) < _score(experienced, CISSP)
    assert _score(newcomer, SEC_PLUS) == _score(experienced, SEC_PLUS)


def test_credentials_already_held_are_not_recommended(catalog: Catalog) -> None:
    ranked = _rank(catalog, {CCP: 1.0, SAA: 0.9, AZ900: 0.5}, CLOUD, Profile(completed=[CCP]))
    assert CCP not in _order(ranked)
    assert set(_order(ranked)) == {SAA, AZ900}


def test_a_met_prerequisite_credential_lifts_the_next_one(catalog: Catalog) -> None:
    assert catalog.credentials[SAP].prerequisite_ids == [SAA]
    relevance = {SAP: 1.0, CLOUD_PLUS: 1.0}
    facets = CLOUD.model_copy(update={"level": Level.ADVANCED})
    without = _rank(catalog, relevance, facets, Profile(experience_years=3))
    holding = _rank(catalog, relevance, facets, Profile(experience_years=3, completed=[SAA]))
    assert _score(holding, SAP) > _score(without, SAP)
    assert any("which you already hold" in r for r in _reasons(holding, SAP))


@pytest.mark.parametrize(
    ("facets", "profile"),
    [
        (CLOUD.model_copy(update={"providers": ["microsoft"]}), None),
        (CLOUD, Profile(preferred_providers=["Microsoft"])),
    ],
)
def test_preferred_vendor_is_lifted(catalog: Catalog, facets: Facets, profile: Profile | None) -> None:
    relevance = {CCP: 1.0, AZ900: 0.8}
    assert _order(_rank(catalog, relevance, CLOUD))[0] == CCP
    ranked = _rank(catalog, relevance, facets, profile)
    assert _order(ranked)[0] == AZ900
    assert "from Microsoft, as you prefer" in _reasons(ranked, AZ900)


def test_preferred_vendor_from_the_profile_by_its_usual_name(catalog: Catalog) -> None:
    relevance = {AZ900: 1.0, CCP: 0.8}
    ranked = _rank(catalog, relevance, CLOUD, Profile(preferred_providers=["AWS"]))
    assert _order(ranked)[0] == CCP


def test_vendor_neutral_avoids_product_vendors(catalog: Catalog) -> None:
    relevance = {CCP: 1.0, AZ900: 0.9, CLOUD_PLUS: 0.8}
    assert _order(_rank(catalog, relevance, CLOUD))[0] == CCP
    ranked = _rank(catalog, relevance, CLOUD.model_copy(update={"vendor_neutral": True}))
    assert _order(ranked)[0] == CLOUD_PLUS
    assert "vendor-neutral" in _reasons(ranked, CLOUD_PLUS)


def test_a_retired_credential_never_appears_as_itself(catalog: Catalog) -> None:
    assert catalog.credentials[GAIQ].status is Status.RETIRED
    facets = Facets(domains=[Domain.DIGITAL_MARKETING])
    ranked = _rank(catalog, {GAIQ: 1.0, GA4: 0.3, CCP: 0.5}, facets)
    assert GAIQ not in _order(ranked)
    assert all(c.credential.status is Status.ACTIVE for c in ranked)
    # the successor takes the retired one's place, once
    assert _order(ranked)[0] == GA4
    assert _order(ranked).count(GA4) == 1
    # nobody asked about the old one, so it is not mentioned
    assert ranked[0].replaced is None


def test_a_named_retired_credential_is_replaced_and_explained(catalog: Catalog) -> None:
    facets = Facets(domains=[Domain.DIGITAL_MARKETING], credential_ids=[GAIQ])
    ranked = _rank(catalog, {GAIQ: 1.0}, facets, intent=Intent.CREDENTIAL_INFO)
    first = ranked[0]
    assert first.credential.id == GA4
    assert first.replaced is not None and first.replaced.id == GAIQ
    assert any("retired" in reason for reason in first.reasons)


def test_a_retired_credential_whose_successor_is_held_disappears(catalog: Catalog) -> None:
    ranked = _rank(catalog, {GAIQ: 1.0, CCP: 0.2}, Facets(), Profile(completed=[GA4]))
    assert _order(ranked) == [CCP]


def test_bm25_scores_match_rank_bm25_to_the_last_bit() -> None:
    """The inverted-index BM25 must rank exactly as the library it replaced, on the real knowledge base."""
    from rank_bm25 import BM25Okapi

    chunks = build_chunks(load_knowledge(ROOT / "knowledge"))
    corpus = [tokenize(f"{c.metadata['title']} {c.metadata['title']} {c.text}") for c in chunks]
    ours, reference = Bm25Okapi(corpus), BM25Okapi(corpus)
    questions = [json.loads(line)["question"] for line in (ROOT / "tests" / "eval" / "regression.jsonl").open()]
    vocabulary = sorted({t for doc in corpus for t in doc})
    rng = random.Random(7)
    queries = [tokenize(q) for q in questions] + [
        [*rng.choices(vocabulary, k=rng.randint(1, 6)), "unknownword"] for _ in range(200)
    ]
    # a term in more than half the chunks gets the floored idf; a repeated term counts twice
    assert len(ours.postings["certification"]) > len(corpus) / 2
    queries.append(["certification", "certification", "data"])
    for query in queries:
        expected = reference.get_scores(query)
        got = ours.scores(query)
        assert {n: float(s) for n, s in enumerate(expected) if s != 0} == {n: s for n, s in got.items() if s != 0}
