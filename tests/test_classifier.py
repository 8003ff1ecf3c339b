"""The understanding classifiers: features as trained, deterministic training, and what they change in answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.advisor import Advisor, composer
from bot.advisor.models import Intent
from bot.advisor.spelling import credentials_spelled_like
from bot.advisor.vocabulary import match_form
from bot.eval_understanding import evaluate_understanding, understanding_table
from ingest.classifier import (
    NGRAM_RANGE,
    MessageClassifier,
    char_ngrams,
    classifier_key,
    ensure_classifier,
    stored_path,
    train,
    word_terms,
)
from ingest.corpus import CORPUS_DIR, TRAIN_FILE, VALIDATION_FILE, Corpus, LabelledMessage, MessageIntent
from ingest.embeddings import SentenceTransformerEmbeddings
from tests.conftest import REAL_KNOWLEDGE


def test_the_ngrams_the_bot_reads_are_the_ones_scikit_learn_trained_on() -> None:
    texts = ["Which CERT for  cloud??", "sec+ or cysa+", "a", "certifcation for linux 🐧", "AZ-900\tvs\nAZ-104"]
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE).build_analyzer()
    for text in texts:
        assert char_ngrams(text) == reference(text), text


def test_word_terms_are_words_and_word_pairs_with_plus_and_hash_kept() -> None:
    assert word_terms("Sec+ or C#, pls!") == ["sec+", "or", "c#", "pls", "sec+ or", "or c#", "c# pls"]
    assert word_terms("") == [] and word_terms("cloud") == ["cloud"]


def small_corpus() -> Corpus:
    full = Corpus.load(REAL_KNOWLEDGE)
    return Corpus(train=full.train[::8], validation=[])


def test_training_is_deterministic_and_a_stored_classifier_predicts_the_same(
    embeddings: SentenceTransformerEmbeddings, tmp_path: Path
) -> None:
    corpus = small_corpus()
    first, second = train(corpus, embeddings), train(corpus, embeddings)
    assert first.key == second.key
    assert np.array_equal(first.intent_head.weights, second.intent_head.weights)
    assert np.array_equal(first.field_head.weights, second.field_head.weights)
    first.save(tmp_path / "c.npz")
    loaded = MessageClassifier.load(tmp_path / "c.npz")
    for text in ("which cert for cloud?", "thanks!", "book my exam pls"):
        vector = embeddings.embed_query(text)
        assert loaded.predict(text, vector) == first.predict(text, vector)


def test_a_trained_classifier_is_stored_once_and_reused(
    embeddings: SentenceTransformerEmbeddings, tmp_path: Path
) -> None:
    knowledge, cache = tmp_path / "knowledge", tmp_path / "cache"
    corpus = small_corpus()
    (knowledge / CORPUS_DIR).mkdir(parents=True)
    for name, messages in ((TRAIN_FILE, corpus.train), (VALIDATION_FILE, corpus.validation)):
        lines = [m.model_dump_json(exclude_defaults=True) for m in messages]
        (knowledge / CORPUS_DIR / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    classifier = ensure_classifier(knowledge, embeddings, cache)
    assert classifier is not None and classifier.key == classifier_key(corpus, embeddings)
    path = stored_path(cache, classifier.key)
    stamp = path.stat().st_mtime_ns
    again = ensure_classifier(knowledge, embeddings, cache)
    assert again is not None and again.key == classifier.key and path.stat().st_mtime_ns == stamp
    assert ensure_classifier(tmp_path, embeddings, cache) is None  # no corpus: rules only


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("thanks, that helps!", Intent.SMALLTALK),
        ("what can you actually do?", Intent.ABOUT_BOT),
        ("can you book my exam for me", Intent.CANNOT_DO),
        ("what's the weather in paris tomorrow", Intent.OUT_OF_SCOPE),
    ],
)
def test_conversation_gets_a_conversational_answer(
    understanding_advisor: Advisor, question: str, intent: Intent
) -> None:
    answer = understanding_advisor.answer(question)
    assert answer.intent is intent and not answer.recommendations
    if intent is Intent.CANNOT_DO:
        assert "can't" in answer.text and "I help you choose" in answer.text  # declines, then says what it can do


def test_field_words_outside_the_rules_still_find_the_field(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("Linux certs for someone starting out")
    assert answer.intent is Intent.RECOMMEND and answer.recommendations
    assert answer.facets.domains[:1] == [
        understanding_advisor.catalog.credentials[answer.recommendations[0].id].domains[0]
    ]
    assert answer.facets.domains[0].value == "it-support"


def test_a_field_the_catalog_lacks_is_said_plainly_not_guessed(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("accounting certification")
    assert not answer.recommendations and "don't cover finance and accounting yet" in answer.text


def test_a_life_story_is_read_as_a_career_switch(understanding_advisor: Advisor) -> None:
    story = (
        "15 years as a nurse, burned out, want something remote in tech, a few hours a week, tight money, what do I do?"
    )
    answer = understanding_advisor.answer(story)
    assert answer.intent is Intent.CAREER_SWITCH and answer.recommendations


@pytest.mark.parametrize(
    "question", ["how much do data analysts earn?", "do data engineers earn more than data scientists now?"]
)
def test_a_pay_question_is_a_career_question_answered_honestly(understanding_advisor: Advisor, question: str) -> None:
    answer = understanding_advisor.answer(question)
    assert answer.in_scope and answer.intent is Intent.CAREER_SWITCH and answer.recommendations
    assert answer.text.startswith("I don't have pay figures")  # no salary is invented


def test_a_credential_the_catalog_lacks_is_said_to_be_unknown(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("how hard is the eJPT exam")
    assert answer.intent is Intent.CREDENTIAL_INFO and not answer.recommendations
    assert "don't have that credential in my catalog" in answer.text


def test_a_misspelt_credential_name_is_still_recognised(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("secruity plus exam cost")
    assert answer.intent is Intent.CREDENTIAL_INFO
    assert [r.id for r in answer.recommendations] == ["comptia-security-plus"]


def test_a_pasted_job_ad_naming_several_credentials_is_not_a_comparison(understanding_advisor: Advisor) -> None:
    ad = (
        "Cloud Support Engineer\n- Hands-on with AWS or Azure\n- AZ-104 or AWS SAA preferred\n"
        "- Linux and networking basics\nwhat should i get to land this?"
    )
    answer = understanding_advisor.answer(ad)
    assert answer.intent is Intent.RECOMMEND and answer.recommendations


def test_a_friendly_message_the_rules_cannot_read_is_not_refused(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("thx, the comparison table helped a lot")
    assert answer.intent is Intent.SMALLTALK and answer.in_scope


@pytest.mark.parametrize(
    ("question", "held", "builds_on_it"),
    [
        ("I have my CCNA, what's the next big certification?", "cisco-ccna", {"cisco-ccnp-enterprise"}),
        ("I passed Security+, now what?", "comptia-security-plus", {"comptia-cysa-plus", "comptia-pentest-plus"}),
    ],
)
def test_a_credential_already_held_leads_to_what_builds_on_it(
    understanding_advisor: Advisor, question: str, held: str, builds_on_it: set[str]
) -> None:
    answer = understanding_advisor.answer(question)
    catalog = understanding_advisor.catalog
    ids = [r.id for r in answer.recommendations]
    assert answer.intent is Intent.RECOMMEND and held not in ids
    assert ids[0] in builds_on_it and "which you already hold" in answer.text
    reached = catalog.credentials[held]
    for cid in ids:  # no step back to the field's basics
        cred = catalog.credentials[cid]
        assert cred.primary_domain is not reached.primary_domain or cred.level.rank >= reached.level.rank


def test_a_question_about_a_credential_held_is_still_about_it(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("passed security+ last month, is it still valid in 2028?")
    assert answer.intent is Intent.CREDENTIAL_INFO
    assert [r.id for r in answer.recommendations] == ["comptia-security-plus"]


def test_a_bare_name_counts_only_where_the_context_fits_it(understanding_advisor: Advisor) -> None:
    # "SAP" is the ERP vendor here, not the code of AWS's Solutions Architect Professional exam
    erp = understanding_advisor.answer("comparing SAP and Oracle ERP careers, which is better")
    assert not erp.recommendations and "enterprise platforms" in erp.text
    aws = understanding_advisor.answer("AWS SAA vs AWS SAP")
    assert aws.intent is Intent.COMPARE
    assert {r.id for r in aws.recommendations} >= {"aws-certified-solutions-architect-professional"}


@pytest.mark.parametrize(
    ("question", "meant"),
    [
        ("secruity plus exam cost", ["comptia-security-plus"]),
        ("azure fundamentels worth it", ["microsoft-azure-fundamentals"]),
        ("is the CCSK worth it for a cloud engineer", []),  # "cloud engineer" is not "cloudops engineer"
        ("is security worth it", []),  # an ordinary word is not a typo of a name that contains it
        ("cloud certs", []),  # nor is "cloud" one of "Cloud+"
    ],
)
def test_misspelt_names_are_found_and_ordinary_words_are_not(
    understanding_advisor: Advisor, question: str, meant: list[str]
) -> None:
    assert credentials_spelled_like(match_form(question), understanding_advisor.state.vocab) == meant


def test_the_understanding_evaluation_scores_every_reader(understanding_advisor: Advisor) -> None:
    messages = [
        LabelledMessage(text="which cert for cloud, total beginner", intent=MessageIntent.RECOMMEND, fields=["cloud"]),
        LabelledMessage(text="thanks, that helps!", intent=MessageIntent.SMALLTALK),
        LabelledMessage(text="and cheaper ones?", intent=MessageIntent.FOLLOWUP),
        LabelledMessage(text="accounting certification", intent=MessageIntent.RECOMMEND, fields=["finance-accounting"]),
    ]
    results = evaluate_understanding(understanding_advisor, messages)
    assert list(results) == ["dense-only", "lexical-only", "classifier", "rules", "advisor"]
    # a follow-up has no reading of its own: only the classifiers, which learn the label, are scored on it
    assert results["classifier"]["n"] == 4 and results["advisor"]["n"] == 3
    assert results["dense-only"]["intent_macro_f1"] is None
    # retrieval always lands on some credential's field: never "none", never a field the catalog lacks
    assert results["dense-only"]["field_accuracy"] <= 1 / 3
    assert results["advisor"]["field_accuracy"] == 1.0  # cloud, none, and the uncovered field said as such
    table = understanding_table(results)
    assert "| dense-only | 3 | - | - |" in table and "| smalltalk |" in table


def test_an_answer_that_guesses_the_field_offers_the_likeliest_ones(understanding_advisor: Advisor) -> None:
    vague = understanding_advisor.answer("i want to be the person who makes the office internet work. cert?")
    if vague.field_choices:  # the classifiers were unsure of the field: the guess says so and offers a choice
        assert vague.recommendations and composer.NOT_SURE_OF_FIELD in vague.text
    else:
        assert vague.facets.domains
    clear = understanding_advisor.answer("which cert for cloud?")
    assert not clear.field_choices and composer.NOT_SURE_OF_FIELD not in clear.text


def test_someone_who_does_not_code_is_not_sent_to_programming(understanding_advisor: Advisor) -> None:
    needs_coding = understanding_advisor.state.vocab.needs_coding
    assert "ibm-data-science-certificate" in needs_coding and "google-ai-essentials" not in needs_coding
    answer = understanding_advisor.answer("first step into AI if I can't code")
    assert answer.recommendations and not {r.id for r in answer.recommendations} & needs_coding
    role = understanding_advisor.answer("I want to become a data scientist but I can't code")
    assert role.intent is Intent.CAREER_SWITCH and role.text.startswith("Honestly, a Data Scientist writes code")


def test_a_pay_question_in_no_field_asks_which_one(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("roughly how much could I earn if I switch careers?")
    assert answer.intent is Intent.CAREER_SWITCH and not answer.recommendations
    assert answer.text.startswith("I don't have pay figures") and answer.field_choices
