"""The labelled corpus is data: every line valid, no message twice, and no test message in training."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.corpus import (
    FIELD_LABELS,
    Corpus,
    CorpusError,
    MessageIntent,
    duplicate_problems,
    load_messages,
)
from tests.conftest import REAL_KNOWLEDGE, ROOT

FROZEN_TEST = ROOT / "tests" / "eval" / "understanding-test.jsonl"
FROZEN_MULTILINGUAL_TEST = ROOT / "tests" / "eval" / "understanding-test-multilingual.jsonl"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.load(REAL_KNOWLEDGE)


def test_the_corpus_and_the_frozen_test_file_are_valid_and_share_no_message(corpus: Corpus) -> None:
    test = load_messages(FROZEN_TEST)
    multilingual = load_messages(FROZEN_MULTILINGUAL_TEST)
    assert len(corpus.train) + len(corpus.validation) >= 2000
    assert len(test) >= 400 and {m.lang for m in test} == {"en"}
    assert (
        duplicate_problems(
            [("train", corpus.train), ("validation", corpus.validation), ("test", test), ("multilingual", multilingual)]
        )
        == []
    )


def test_every_language_has_labelled_messages_and_a_frozen_test_part(corpus: Corpus) -> None:
    multilingual = Counter(m.lang for m in load_messages(FROZEN_MULTILINGUAL_TEST))
    taught = Counter(m.lang for m in corpus.train + corpus.validation)
    for language in ("es", "pt", "ru", "uk", "de", "fr"):
        assert multilingual[language] >= 20, language
        assert taught[language] + multilingual[language] >= 150, language


def test_every_intent_and_every_field_is_taught(corpus: Corpus) -> None:
    intents = Counter(m.intent for m in corpus.train)
    assert {i: intents[i] for i in MessageIntent if intents[i] < 30} == {}
    fields = Counter(f for m in corpus.train for f in m.fields)
    assert {f: fields[f] for f in FIELD_LABELS if fields[f] < 8} == {}


def test_a_bad_line_is_named_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"text": "which cert for cloud?", "intent": "recommend", "fields": ["cloud"]}\n'
        '{"text": "aws or azure", "intent": "versus", "fields": ["cloud"]}\n'
        '{"text": "cpa?", "intent": "recommend", "fields": ["accounting"]}\n'
        "not json\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusError) as raised:
        load_messages(path)
    problems = "\n".join(raised.value.problems)
    assert "train.jsonl:2: intent" in problems and "train.jsonl:3: fields" in problems
    assert "train.jsonl:4: not JSON" in problems and "train.jsonl:1" not in problems


def test_a_message_repeated_in_other_words_case_or_punctuation_is_a_duplicate(tmp_path: Path) -> None:
    folder = tmp_path / "understanding"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "Which cert for cloud?", "intent": "recommend"}\n', encoding="utf-8")
    (folder / "validation.jsonl").write_text(
        '{"text": "which cert for  cloud", "intent": "recommend"}\n', encoding="utf-8"
    )
    with pytest.raises(CorpusError, match=r"duplicates a message in train\.jsonl"):
        Corpus.load(tmp_path)
    assert Corpus.load_if_present(tmp_path / "elsewhere") is None  # a knowledge base without a corpus
