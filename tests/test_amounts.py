"""Budgets and weekly hours read from the labelled corpus's own messages, as people wrote them."""

from __future__ import annotations

import pytest

from bot.advisor.amounts import USD_PER_UNIT, budget_in, experience_years_in, weekly_hours_in
from ingest.corpus import Corpus, LabelledMessage
from tests.conftest import REAL_KNOWLEDGE


@pytest.fixture(scope="module")
def messages() -> list[LabelledMessage]:
    """The English ones: amounts and hours in the other languages' words are not read yet."""
    corpus = Corpus.load(REAL_KNOWLEDGE)
    return [m for m in corpus.train + corpus.validation if m.lang == "en"]


def test_most_stated_budgets_are_read_in_dollars(messages: list[LabelledMessage]) -> None:
    stated = [m for m in messages if m.facets.budget is not None]
    read = 0
    for message in stated:
        assert message.facets.budget is not None
        want = message.facets.budget.amount * USD_PER_UNIT.get(message.facets.budget.currency, 1.0)
        got = budget_in(message.text)
        read += got is not None and got.usd is not None and abs(got.usd - want) <= max(1.0, 0.05 * want)
    assert len(stated) >= 50 and read / len(stated) >= 0.9, f"{read} of {len(stated)}"


def test_most_stated_weekly_hours_are_read_and_none_are_invented(messages: list[LabelledMessage]) -> None:
    stated = [m for m in messages if m.facets.hours_per_week is not None]
    read = sum(
        1
        for m in stated
        if (hours := weekly_hours_in(m.text)) is not None and abs(hours - (m.facets.hours_per_week or 0)) <= 0.6
    )
    invented = [m.text for m in messages if m.facets.hours_per_week is None and weekly_hours_in(m.text) is not None]
    assert len(stated) >= 40 and read / len(stated) >= 0.9, f"{read} of {len(stated)}"
    assert len(invented) <= len(messages) // 200, invented


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("PMP vs CAPM for someone with 2 years of experience?", 2.0),
        ("can I take the CISSP with 2 years in IT", 2.0),
        ("I'm 38, 3 yrs leading projects", 3.0),
        ("18 months of experience in help desk", 1.5),
        ("5+ years in IT support", 5.0),
        ("been doing this for 6 years", 6.0),
        ("I've worked 4 years at a bank", 4.0),
        ("no experience at all, which cert?", 0.0),
        ("a few years of experience", 3.0),
        ("i am 15 years old", None),  # an age
        ("3 years ago I quit", None),
        ("in 2 years I want to be a developer", None),  # a plan
        ("is the CCNA valid for 3 years?", None),  # a validity
        ("renew every 3 years", None),
        ("which cert for cloud", None),
    ],
)
def test_experience_as_people_write_it(text: str, years: float | None) -> None:
    assert experience_years_in(text) == years
