"""Budgets, weekly study time and work experience as people write them: "100 bucks", "€200", "no money",
"3-4 hrs a week", "an hour a day", "a few hours on weekends", "2 yrs of experience", "18 months in IT".

Amounts in other currencies are turned into US dollars, the currency the catalog's prices are in, at
rough rates: they only decide which credentials fit a budget, never a price shown to anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# US dollars per unit, rounded (late 2026); only for comparing a stated budget with USD prices.
USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "INR": 0.012, "CAD": 0.73, "AUD": 0.66}
CHEAP_BUDGET_USD = 150.0  # what "cheap" or "affordable" is taken to mean when no amount is given

_CURRENCY_WORDS = {
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "buck": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "₹": "INR",
    "inr": "INR",
    "rs": "INR",
    "rupee": "INR",
    "rupees": "INR",
    "cad": "CAD",
    "aud": "AUD",
}
# Numbers match only from where they start, possessively: a search stays linear in a long run of digits.
_NUMBER = r"(?<![\d.,])(\d[\d,]*+(?:\.\d++)?+)\s*+(k\b)?"
_SYMBOL_FIRST = re.compile(r"([$€£₹])\s*+" + _NUMBER, re.I)
_WORD_AFTER = re.compile(
    _NUMBER + r"\s*+(usd|dollars?|bucks?|eur|euros?|gbp|pounds?|quid|inr|rs|rupees?|cad|aud)\b", re.I
)
_SYMBOL_AFTER = re.compile(_NUMBER + r"\s*+([$€£₹])", re.I)
_WORD_FIRST = re.compile(r"\b(usd|eur|gbp|inr|rs\.?|cad|aud)\s*+" + _NUMBER, re.I)
# An amount is a budget when it is what the person has or will spend, not the price they ask about.
_LIMIT = re.compile(
    r"\b(budget\w*|afford|spend|under|below|less than|max(?:imum)?|up to|within|or less|at most|tops|total|"
    r"i(?:'ve| have)? (?:only )?(?:got|have)|only have|have (?:only|just|like|about|around)|saved)\b|<",
    re.I,
)
_BARE_LIMIT = re.compile(
    r"(?:under|below|less than|up to|max(?:imum)?|budget(?: of| is| around| about)?|within|<)\s*+(?:[$€£₹]\s*+)?"
    + _NUMBER,
    re.I,
)
_FREE = re.compile(
    r"\b(free(?! time)|for free|no cost|without paying|for nothing|no money|zero money|no budget|zero budget|"
    r"can'?t afford|cannot afford|can not afford|broke|nothing to spend|\$0\b)",
    re.I,
)
_CHEAP = re.compile(
    r"\b(cheap|cheaper|cheapest|low[- ]cost|affordable|inexpensive|small budget|tight budget|limited budget|"
    r"budget[- ]friendly|not expensive|tight money|money is tight|money's tight)\b",
    re.I,
)


@dataclass(frozen=True)
class Budget:
    usd: float
    free_only: bool = False
    vague: bool = False  # "cheap" with no amount: CHEAP_BUDGET_USD stands in for one


def budget_in(text: str) -> Budget | None:
    """The budget a message states, if any; "cheap" alone becomes CHEAP_BUDGET_USD."""
    if _FREE.search(text):
        return Budget(0.0, free_only=True)
    for amount, currency in _amounts(text):
        if currency is not None and _LIMIT.search(text):
            return Budget(round(amount * USD_PER_UNIT.get(currency, 1.0), 2))
    bare = _BARE_LIMIT.search(text)
    if bare:
        return Budget(_number(bare.group(1), bare.group(2)))
    if _CHEAP.search(text):
        return Budget(CHEAP_BUDGET_USD, vague=True)
    return None


def _amounts(text: str) -> list[tuple[float, str | None]]:
    found: list[tuple[int, float, str | None]] = []
    for match in _SYMBOL_FIRST.finditer(text):
        found.append((match.start(), _number(match.group(2), match.group(3)), _CURRENCY_WORDS[match.group(1)]))
    for match in _SYMBOL_AFTER.finditer(text):
        found.append((match.start(), _number(match.group(1), match.group(2)), _CURRENCY_WORDS[match.group(3)]))
    for match in _WORD_AFTER.finditer(text):
        unit = _CURRENCY_WORDS[match.group(3).lower()]
        found.append((match.start(), _number(match.group(1), match.group(2)), unit))
    for match in _WORD_FIRST.finditer(text):
        unit = _CURRENCY_WORDS[match.group(1).lower().rstrip(".")]
        found.append((match.start(), _number(match.group(2), match.group(3)), unit))
    return [(amount, unit) for _, amount, unit in sorted(found)]


def _number(digits: str, thousands: str | None) -> float:
    value = float(digits.replace(",", ""))
    return value * 1000 if thousands else value


# -- weekly hours -------------------------------------------------------------------------------------

_QUANTITY_WORDS = {
    "half an": 0.5,
    "an": 1.0,
    "one": 1.0,
    "a": 1.0,
    "two": 2.0,
    "a couple of": 2.0,
    "a couple": 2.0,
    "couple of": 2.0,
    "three": 3.0,
    "a few": 3.0,
    "few": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "several": 4.0,
}
_QUANTITY = (
    r"(?<![\d.])(?P<low>\d++(?:\.\d++)?+)(?:\s*+(?:-|–|to)\s*+(?P<high>\d++(?:\.\d++)?+))?"
    r"|(?P<word>half an|a couple of|a couple|couple of|a few|few|several|one|two|three|four|five|six|an|a)"
)
_HOURS_WORD = r"(?:hours?|hrs?|h)\b"
_PER_WEEK = re.compile(
    rf"(?:~|about |around |like |maybe )?(?:{_QUANTITY})\s*{_HOURS_WORD}\s*(?:a|per|/|each|every|in a)?\s*(?:week|wk)\w*",
    re.I,
)
_PER_DAY = re.compile(
    rf"(?:{_QUANTITY})\s*{_HOURS_WORD}\s*(?:(?:a|per|/|each|every)?\s*(?:day|night|evening)\b|daily\b)", re.I
)
_WEEKENDS = re.compile(r"\bweekends?\b|\bsaturdays?\b|\bsundays?\b", re.I)
_SOME_HOURS = re.compile(rf"(?:{_QUANTITY})\s*{_HOURS_WORD}", re.I)
DAYS_A_WEEK = 7.0
WEEKEND_HOURS = 4.0  # "weekends, a few hours" with no number


# "working 50 hrs a week" is the job, not the time left for studying
_WORK_BEFORE = re.compile(r"\b(work(?:ing|s)?|shifts?)\s+(?:like |about |around |over |almost |~)?$", re.I)


def weekly_hours_in(text: str) -> float | None:
    """Hours a week a message says the person can study, if it says so."""
    week = _study_time(_PER_WEEK, text)
    if week:
        return _quantity(week)
    day = _study_time(_PER_DAY, text)
    if day:
        return _quantity(day) * DAYS_A_WEEK
    if _WEEKENDS.search(text):
        some = _SOME_HOURS.search(text)
        if some and some.group("low"):
            return _quantity(some)
        if some:
            return WEEKEND_HOURS
    return None


def _study_time(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    return next((m for m in pattern.finditer(text) if not _WORK_BEFORE.search(text[: m.start()])), None)


def _quantity(match: re.Match[str]) -> float:
    if match.group("low"):
        low = float(match.group("low"))
        high = float(match.group("high")) if match.group("high") else low
        return (low + high) / 2
    return _QUANTITY_WORDS[match.group("word").lower()]


# -- work experience ----------------------------------------------------------------------------------

_YEARS_WORD = r"(?P<unit>years?|yrs?|y|months?|mos?)\b"
# a span of time is experience when it is said to be: "2 years of experience", "5 yrs in IT", "3 years as a
# coordinator", "18 months leading projects", "with 4 years", "I've been doing this for 6 years"
_EXPERIENCE_AFTER = re.compile(
    rf"(?:{_QUANTITY})\+?\s*+{_YEARS_WORD}\s*(?:of\s+)?(?:\w+\s+)?(?:experience|exp\b|xp\b|work\w*|in\b|as\b|at\b|"
    r"leading|managing|running|doing|professional|hands[- ]on|industry|field)",
    re.I,
)
_EXPERIENCE_BEFORE = re.compile(
    rf"\b(?:with|have|having|got|after|been \w+ (?:for )?|for|spent)\s+(?:about |around |almost |over |nearly |~)?"
    rf"(?:{_QUANTITY})\+?\s*+{_YEARS_WORD}(?!\s*(?:old|ago|from now|later|to go|left)\b)",
    re.I,
)
_NO_EXPERIENCE = re.compile(
    r"\b(no|zero|without(?: any)?|0|never had any|don'?t have any|not much|little to no) (?:work |real |prior |relevant )?"
    r"(?:experience|exp|xp)\b",
    re.I,
)
# "in 2 years", "valid for 3 years", "3 years ago": spans of time that are not experience
_NOT_EXPERIENCE_BEFORE = re.compile(
    r"\b(in|within|valid(?: for)?|lasts?(?: for)?|expires? (?:in|after)|every)\s+$", re.I
)
MONTHS_A_YEAR = 12.0


def experience_years_in(text: str) -> float | None:
    """Years of work experience a message says the person has, if it says so ("no experience" is 0)."""
    if _NO_EXPERIENCE.search(text):
        return 0.0
    for pattern in (_EXPERIENCE_AFTER, _EXPERIENCE_BEFORE):
        for match in pattern.finditer(text):
            start = match.start("low") if match.group("low") else match.start("word")
            if _NOT_EXPERIENCE_BEFORE.search(text[:start]):
                continue
            amount = _quantity(match)
            return amount / MONTHS_A_YEAR if match.group("unit").lower().startswith("m") else amount
    return None
