"""Which language a message is in: the text first, names left out, the person's own language for unclear ones."""

from __future__ import annotations

import pytest

from bot.advisor.catalog import Catalog
from bot.advisor.language import LanguageDetector, supported, without_names
from bot.advisor.vocabulary import Vocabulary
from tests.conftest import FIXTURE_KNOWLEDGE
from tests.support.catalogs import catalog_of


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    catalog: Catalog = catalog_of(FIXTURE_KNOWLEDGE)
    return Vocabulary.from_catalog(catalog)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("which cert for cloud?", "en"),
        ("I'm a nurse and want to move into tech, where do I start?", "en"),
        ("¿Qué certificación de ciberseguridad es buena para principiantes?", "es"),
        ("qual certificação de cloud vale mais a pena pra quem tá começando", "pt"),
        ("Какую сертификацию по облакам выбрать новичку?", "ru"),
        ("Я вчитель і хочу перейти в IT-підтримку", "uk"),  # і is Ukrainian's own letter
        ("Welche Cloud-Zertifizierung passt für Anfänger?", "de"),
        ("Je suis comptable et je veux devenir analyste de données", "fr"),
    ],
)
def test_the_language_of_a_message(detector: LanguageDetector, vocab: Vocabulary, text: str, language: str) -> None:
    found = detector.detect(text, vocab)
    assert found.language == language and found.from_text


def test_a_credential_name_does_not_make_a_message_english(detector: LanguageDetector, vocab: Vocabulary) -> None:
    mixed = "¿qué tal AWS Certified Cloud Practitioner para empezar?"
    assert "Practitioner" not in without_names(mixed, vocab)
    assert detector.detect(mixed, vocab).language == "es"


def test_a_short_message_is_in_the_person_s_own_language(detector: LanguageDetector, vocab: Vocabulary) -> None:
    assert detector.detect("ok", vocab, fallback="ru").language == "ru"
    assert detector.detect("AZ-900 vs CompTIA Cloud+", vocab, fallback="de").language == "de"  # names only
    assert detector.detect("ok", vocab).language == "en"  # nothing known: English
    # a message in another script is not in the person's language, however short
    assert detector.detect("спасибо большое", vocab, fallback="es").language == "ru"
    # a clear message in another language is answered as written
    assert detector.detect("Welche Cloud-Zertifizierung passt für Anfänger?", vocab, fallback="fr").language == "de"


@pytest.mark.parametrize(
    ("code", "language"), [("pt-br", "pt"), ("uk", "uk"), ("en-US", "en"), ("it", None), ("", None)]
)
def test_telegram_language_codes(code: str, language: str | None) -> None:
    assert supported(code) == language
