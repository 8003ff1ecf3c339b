"""Checking what the model wrote before anyone sees it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.advisor.vocabulary import Vocabulary, match_form

_CITATION = re.compile(r"\s?\[(\d+)\]")
# Exam codes such as AZ-104, SY0-701, CLF-C02, SAA-C03, 200-301: a code names one credential.
_EXAM_CODE = re.compile(r"\b(?:[A-Z]{1,5}[0-9]?-[A-Z]?[0-9]{2,4}[A-Z]?|[0-9]{3}-[0-9]{3})\b")
# "... Certification" / "... Certificate" / "Certified ..." phrases made of capitalised words.
_NAMED = re.compile(
    r"\b((?:[A-Z][\w+&/-]*\s+){1,6}(?:Certification|Certificate)|Certified\s+(?:[A-Z][\w+&/-]*\s*){1,6})"
)

_ORDINARY = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "its",
        "your",
        "my",
        "their",
        "our",
        "each",
        "any",
        "every",
        "which",
        "one",
        "first",
        "next",
        "another",
        "entry",
        "level",
        "professional",
        "certification",
        "certificate",
        "certified",
        "exam",
    ]
)


@dataclass
class Checked:
    text: str
    dropped_citations: list[int] = field(default_factory=list)
    unknown_credentials: list[str] = field(default_factory=list)
    leaks_instructions: bool = False

    @property
    def trustworthy(self) -> bool:
        return not self.unknown_credentials and not self.leaks_instructions and bool(self.text.strip())


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def leaks(text: str, system_prompt: str) -> bool:
    """The answer repeats a line of the system prompt: it must never be shown."""
    folded = _fold(text)
    for line in system_prompt.splitlines():
        line = _fold(line.strip("- "))
        if len(line) >= 40 and line in folded:
            return True
    return False


# A draft is shown one sentence at a time, so a repeated instruction line could appear piece by piece before
# the whole line is there for `leaks` to see. Drafts are held to a stricter rule: no run this long in common.
DRAFT_SHARED_RUN = 30
_SENTENCE_END = re.compile(r"[.!?]\s|\n")


def shares_run(text: str, system_prompt: str, run: int = DRAFT_SHARED_RUN) -> bool:
    """Some `run` characters of the text, from the start of a word, also occur in the system prompt."""
    folded, instructions = _fold(text), _fold(system_prompt)
    starts = [0] + [i + 1 for i, ch in enumerate(folded) if ch == " "]
    return any(len(folded) - i >= run and folded[i : i + run] in instructions for i in starts)


def complete_sentences(text: str) -> str:
    """The text up to its last finished sentence or line: a name or code still being written is not in it."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]] if ends else ""


def check_draft(text: str, source_count: int, vocab: Vocabulary, system_prompt: str) -> str | None:
    """What of a partly written answer may be shown: its finished sentences, checked as a final answer is
    (and stricter about the instructions); None when they fail, "" when no sentence is finished yet."""
    finished = complete_sentences(text)
    if not finished.strip():
        return ""
    checked = check_answer(finished, source_count, vocab, system_prompt)
    if not checked.trustworthy or shares_run(finished, system_prompt):
        return None
    return checked.text


def check_answer(text: str, source_count: int, vocab: Vocabulary, system_prompt: str = "") -> Checked:
    dropped: list[int] = []

    def keep_known(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if 1 <= number <= source_count:
            return match.group(0)
        dropped.append(number)
        return ""

    cleaned = _CITATION.sub(keep_known, text).strip()
    return Checked(cleaned, dropped, unknown_credentials(cleaned, vocab), leaks(cleaned, system_prompt))


def unknown_credentials(text: str, vocab: Vocabulary) -> list[str]:
    """Credential names or codes in the text that the knowledge base does not hold."""
    known = vocab.credential_forms
    unknown: list[str] = []
    for code in _EXAM_CODE.findall(text):
        if match_form(code) not in known:
            unknown.append(code)
    for phrase in _NAMED.findall(text):
        form = match_form(phrase)
        if not set(form.split()) - _ORDINARY:
            continue  # "This Certification", "Your Certificate": no name at all
        stripped = form.replace(" certification ", " ").replace(" certificate ", " ").replace(" certified ", " ")
        if not any(name in form or form in name or stripped.strip() in name for name in known):
            unknown.append(phrase.strip())
    return unknown
