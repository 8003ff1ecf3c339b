"""Providers, fields and occupations are recognised one way, whether the advisor, the onboarding or the planner reads."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.advisor.catalog import Catalog
from bot.advisor.matching import (
    fields_named_in,
    find_target,
    occupation_for_field,
    occupation_named_in,
    occupation_of_role,
    provider_key,
    providers_named_in,
)
from bot.advisor.models import Facets, Profile
from bot.advisor.ranking import Wants
from bot.advisor.understanding import understand
from bot.advisor.vocabulary import Vocabulary
from bot.planner.builder import build_plan, resolve_target
from ingest.schema import Domain
from tests.conftest import REAL_KNOWLEDGE
from tests.support.catalogs import catalog_of

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def real() -> Catalog:
    return catalog_of(REAL_KNOWLEDGE)


@pytest.fixture(scope="module")
def vocab(real: Catalog) -> Vocabulary:
    return Vocabulary.from_catalog(real)


def plan_ids(catalog: Catalog, profile: Profile) -> list[str]:
    return [step.credential_id for step in build_plan(catalog, profile, TODAY).steps]


# --- providers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AWS", "Amazon", "Amazon Web Services", "aws"])
def test_every_name_of_a_provider_has_its_key(name: str, vocab: Vocabulary) -> None:
    assert provider_key(name, vocab) == "amazon"


def test_a_provider_we_do_not_know_stands_for_itself(vocab: Vocabulary) -> None:
    assert provider_key("  Test Institute ", vocab) == "test institute"


def test_every_provider_named_in_a_text_counts_once(vocab: Vocabulary) -> None:
    assert providers_named_in("AWS or Azure, maybe Google Cloud or Google", vocab) == ["amazon", "microsoft", "google"]
    assert providers_named_in("no preference", vocab) == []


def test_planner_and_advisor_read_a_preferred_provider_the_same_way(real: Catalog) -> None:
    spelled_out = Profile(
        target_role="artificial intelligence", hours_per_week=5, preferred_providers=["Amazon Web Services"]
    )
    short = spelled_out.model_copy(update={"preferred_providers": ["AWS"]})
    none = spelled_out.model_copy(update={"preferred_providers": []})
    wanted = Wants.of(Facets(), spelled_out, real.vocabulary).providers
    assert wanted == Wants.of(Facets(), short, real.vocabulary).providers == ["amazon"]
    assert plan_ids(real, spelled_out) == plan_ids(real, short) != plan_ids(real, none)


# --- fields ---------------------------------------------------------------------------------------


def test_the_longest_field_keyword_comes_first_then_the_earliest(vocab: Vocabulary) -> None:
    assert fields_named_in("cloud security", vocab) == [Domain.CYBERSECURITY, Domain.CLOUD]
    # "ux" and "ml" are equally long: the one named first leads
    assert fields_named_in("ux and ml", vocab) == [Domain.UX_DESIGN, Domain.AI_ML]
    assert fields_named_in("ml and ux", vocab) == [Domain.AI_ML, Domain.UX_DESIGN]


def test_it_in_capitals_is_the_field_only_when_asked_for(vocab: Vocabulary) -> None:
    assert fields_named_in("IT", vocab) == [Domain.IT_SUPPORT]
    assert fields_named_in("is it worth it", vocab) == []
    assert fields_named_in("IT recruiter", vocab, capital_it=False) == [Domain.HR]
    assert fields_named_in("IT recruiter", vocab) == [Domain.HR, Domain.IT_SUPPORT]  # a narrower field comes first


@pytest.mark.parametrize(("text", "field"), [("ux and ml", Domain.UX_DESIGN), ("IT", Domain.IT_SUPPORT)])
def test_planner_and_onboarding_find_the_same_field_in_a_role(
    real: Catalog, vocab: Vocabulary, text: str, field: Domain
) -> None:
    assert find_target(text, real, vocab) == (None, field)
    _, occupation, domain = resolve_target(real, Profile(target_role=text))
    assert occupation is None and domain is field


# --- occupations ----------------------------------------------------------------------------------


def test_of_the_names_starting_at_one_word_the_longest_wins(vocab: Vocabulary) -> None:
    assert occupation_named_in("I want to be an agile project manager", vocab) == "scrum-master"
    assert occupation_named_in("I want to be a project manager", vocab) == "project-manager"


def test_the_earliest_name_wins_and_after_skips_what_comes_before(vocab: Vocabulary) -> None:
    text = "data analyst, later machine learning engineer"
    assert occupation_named_in(text, vocab) == "data-analyst"
    assert occupation_named_in(text, vocab, after=len(" data analyst")) == "ml-engineer"


@pytest.mark.parametrize(
    "text", ["data analyst, later machine learning engineer", "cloud engineer or cybersecurity analyst"]
)
def test_planner_onboarding_and_advisor_pick_the_same_of_two_roles(real: Catalog, vocab: Vocabulary, text: str) -> None:
    """The planner once took the longest name anywhere in the text; it now reads a role as the advisor does."""
    first = occupation_named_in(text, vocab)
    assert first is not None and text.startswith(real.occupations[first].title.lower())
    assert find_target(text, real, vocab)[0] == first
    assert understand(f"I want to become a {text}", real, vocab).facets.target_occupation == first
    _, occupation, _ = resolve_target(real, Profile(target_role=text))
    assert occupation is not None and occupation.id == first


def test_a_whole_role_names_its_occupation_even_when_the_word_is_too_common_in_a_sentence(vocab: Vocabulary) -> None:
    assert occupation_of_role("BA", vocab) == "business-analyst"
    assert occupation_of_role(" Business-Analyst ", vocab) == "business-analyst"
    assert occupation_named_in("BA", vocab) is None
    assert occupation_named_in("which BA certification?", vocab) is None
    assert occupation_of_role("I'd like to work as a machine learning engineer", vocab) == "ml-engineer"
    assert occupation_of_role("astronaut", vocab) is None


def test_between_occupations_sharing_a_name_or_a_field_the_smallest_id_wins(real: Catalog) -> None:
    """Not the catalog's order, which is the order the index returns its rows in."""
    engineer = real.occupations["cloud-engineer"]
    assert "cloud ops" in engineer.aliases and engineer.domains[0] is Domain.CLOUD
    lead = engineer.model_copy(update={"id": "aaa-cloud-lead", "title": "Cloud Lead", "aliases": ["cloud ops"]})
    # the new occupation comes last in the catalog's order, first in the order of ids
    catalog = Catalog(
        real.collection_name, real.chunks, real.words, real.credentials, {**real.occupations, lead.id: lead}
    )
    vocab = Vocabulary.from_catalog(catalog)
    assert occupation_named_in("I work in cloud ops", vocab) == "aaa-cloud-lead"
    assert occupation_of_role("cloud ops", vocab) == "aaa-cloud-lead"
    found = occupation_for_field(catalog, Domain.CLOUD)
    assert found is not None and found.id == "aaa-cloud-lead"
    _, occupation, _ = resolve_target(catalog, Profile(target_domain=Domain.CLOUD))
    assert occupation is not None and occupation.id == "aaa-cloud-lead"


def test_the_main_role_of_a_field(real: Catalog) -> None:
    found = occupation_for_field(real, Domain.CLOUD)
    assert found is not None and found.id == "cloud-engineer"  # before solutions-architect, also a cloud role
    assert occupation_for_field(real, Domain.AI_ML) is not None
