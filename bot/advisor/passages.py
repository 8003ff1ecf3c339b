"""What the grounded composer may quote from a guide, and which of it answers the question.

A sentence cut out of its section has to read on its own: it may not introduce a list ("these
mistakes:"), be a list item's bold label, or lean on the sentence before it ("For example, ...",
"This ...") unless that sentence is quoted with it. Among the sentences that qualify, the ones
that share the most words with the question (word stems, with the words people use for the same
aspect, such as "price" for "cost"), weighted by how rare each word is among the candidates, are
the ones quoted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from bot.advisor.retrieval import tokenize

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# A break after one of these is not the end of a sentence.
_ABBREVIATION = re.compile(r"(?:\be\.g|\bi\.e|\betc|\bvs|\bapprox|\bincl|\bNo)\.$", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A bold run opening a list item that is a whole sentence or ends in ':' is the item's label.
_BOLD_LABEL = re.compile(r"^\*\*([^*]+?[.!?:])\*\*\s*")
_DEPENDENT_START = re.compile(
    r"^(?:for example|for instance|e\.g\.|this|these|that|those|they|it|its|such|then|also|another|both|however|"
    r"but|and|or|so|yet|"
    r"instead|finally|second|secondly|third|thirdly|fourth|next|otherwise|here|"
    r"(?:in |across )?(?:all|each of the) (?:two|three|four|five|six)|"
    r"the (?:first|second|third|fourth|other|next|last|latter|former))\b",
    re.IGNORECASE,
)
_POINTS_AHEAD = re.compile(r"\b(?:these|the following|as follows|below)\b", re.IGNORECASE)
# "these fields", "Turn them into ...": a reference to the text just before
_POINTS_BACK = re.compile(r"\b(?:these|those)\b|^(?:\S+\s+){0,3}(?:them|they|it|this)\b", re.IGNORECASE)
# A catalog id written into the guide for the index's sake, not for the reader.
_ID_NOTE = re.compile(r"\s*\(id: [a-z0-9-]+\)")
MIN_SENTENCE_CHARS = 20

# Words for the same aspect of a question: a question about cost is answered by a sentence on
# prices or fees, one about how long by a sentence on hours or months.
ASPECTS: tuple[tuple[str, ...], ...] = (
    (
        "cost",
        "price",
        "pricing",
        "fee",
        "expensive",
        "cheap",
        "afford",
        "affordable",
        "money",
        "tuition",
        "spend",
        "dollar",
        "usd",
        "subscription",
        "financial",
        "pay",
        "paid",
        "budget",
        "free",
    ),
    ("time", "hour", "week", "month", "year", "duration", "fast", "quick", "quickly", "timeline", "pace"),
    ("linkedin", "profile", "showcase", "display"),
    ("badge", "credly", "accredible"),
    ("employer", "hiring", "hire", "recruiter", "value", "valued", "recognised", "recognized", "respected", "demand"),
    ("expire", "expiry", "renew", "renewal", "recertify", "recertification", "valid", "continuing", "lapse"),
    ("exam", "study", "pass", "prepare", "preparation", "practice", "revision", "revise", "tip", "retake"),
    ("legit", "legitimate", "scam", "mill", "accredited", "accreditation", "issuer", "proctored", "verify", "trust"),
    ("sponsor", "sponsorship", "reimburse", "reimbursement", "boss", "manager", "fund", "funding", "voucher"),
    ("degree", "bachelor", "university", "college", "academic"),
    ("stack", "stacking", "stackable", "credit", "combine"),
)
# Beyond this many distinct words, a sentence's score is scaled down by the square root of its excess length.
LONG_SENTENCE_TERMS = 20
# Question words that ask about an aspect without being a word a passage on it uses ("how long").
_ASKS_ABOUT = {"long": "time", "expensive": "cost", "cheap": "cost", "cheaper": "cost", "cheapest": "cost"}
# How much a word of the same aspect counts, against a word of the question itself.
SYNONYM_WEIGHT = 0.6
# How much more a word in the section's heading counts than one in a sentence.
HEADING_WEIGHT = 1.5

_SUFFIXES = (
    "ations",
    "ation",
    "ities",
    "ity",
    "ysis",
    "ytics",
    "ysts",
    "yst",
    "ical",
    "ings",
    "ing",
    "ers",
    "er",
    "ies",
    "es",
    "ed",
    "ly",
    "s",
)


@cache
def stem(word: str) -> str:
    """A crude English stem, enough to match "costs" with "cost" and "analyst" with "analytics"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


# Words of a question that say nothing about its subject ("how long does it take", "in terms of cost").
_FILLER = frozenset(
    ["take", "takes", "took", "make", "need", "know", "tell", "way", "term", "terms", "compared", "much", "many"]
)


def stems(text: str) -> set[str]:
    return {stem(token) for token in tokenize(text) if token not in _FILLER}


@cache
def _aspect_groups() -> tuple[frozenset[str], ...]:
    return tuple(frozenset(stem(w) for w in group) for group in ASPECTS)


@dataclass(frozen=True)
class Concept:
    """A word asked about, and the other words for the same thing with their weights."""

    word: str
    synonyms: dict[str, float]
    weight: float = 1.0

    def match(self, terms: set[str], rarity: Mapping[str, float]) -> float:
        if self.word in terms:
            return self.weight * rarity.get(self.word, 1.0)
        # a synonym never counts more than the word asked would have, however rare it is
        cap = rarity.get(self.word, math.inf)
        return self.weight * max(
            (w * min(rarity.get(t, 1.0), cap) for t, w in self.synonyms.items() if t in terms), default=0.0
        )


@dataclass(frozen=True)
class Wanted:
    """What a passage should be about: one concept per word asked.

    A sentence scores the best match of each concept, so five words for price in one sentence
    count as one, and a rare synonym does not outweigh the very word asked.
    """

    concepts: tuple[Concept, ...]

    @property
    def terms(self) -> set[str]:
        return {t for c in self.concepts for t in (c.word, *c.synonyms)}

    def score(self, terms: set[str], rarity: Mapping[str, float]) -> float:
        matched = sum(concept.match(terms, rarity) for concept in self.concepts)
        # a long sentence matches more words by its length alone
        return matched / math.sqrt(max(1.0, len(terms) / LONG_SENTENCE_TERMS))


def wanted_terms(question: str, extra: Iterable[tuple[str, float]] = (), ignore: str = "") -> Wanted:
    """The concepts of a question (its words with their synonyms), plus other weighted texts that should match.

    The words of `ignore` (what every candidate is about anyway, such as the asker's current job)
    are left out.
    """
    ignored = stems(ignore)
    asked = sorted({stem(_ASKS_ABOUT.get(t, t)) for t in tokenize(question) if t not in _FILLER} - ignored)
    concepts: list[Concept] = []
    for term in asked:
        # "cost and price" is one question about cost
        if any(term in c.synonyms and c.word in asked for c in concepts):
            continue
        synonyms: dict[str, float] = {}
        for group in _aspect_groups():
            if term in group:
                synonyms.update({s: SYNONYM_WEIGHT for s in group if s != term})
        concepts.append(Concept(term, synonyms))
    covered = {t for c in concepts for t in (c.word, *c.synonyms)} | ignored
    for text, weight in extra:
        for term in sorted(stems(text) - covered):
            concepts.append(Concept(term, {}, weight))
            covered.add(term)
    return Wanted(tuple(concepts))


@dataclass(frozen=True)
class Sentence:
    text: str
    block: int
    # the index of the sentence it leans on (the one before it), which must be quoted with it
    leans_on: int | None = None


def _blocks(text: str) -> list[tuple[str, bool]]:
    """A section's paragraphs and list items, in order, each marked whether it is a list item."""
    blocks: list[tuple[list[str], bool]] = []
    previous_blank = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            previous_blank = True
            continue
        if _LIST_ITEM.match(raw):
            blocks.append(([_LIST_ITEM.sub("", raw, count=1).strip()], True))
        elif previous_blank or not blocks:
            blocks.append(([line], False))
        else:
            blocks[-1][0].append(line)
        previous_blank = False
    return [(" ".join(lines), is_item) for lines, is_item in blocks]


def _split(block: str) -> list[str]:
    pieces: list[str] = []
    for piece in SENTENCE_BREAK.split(block):
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return [p.strip() for p in pieces if p.strip()]


def _stands_alone(sentence: str) -> bool:
    return (
        len(sentence) >= MIN_SENTENCE_CHARS
        and not sentence.endswith(":")
        # a sentence opening with a quotation is an example of what to say, not a statement
        and (sentence[0].isupper() or sentence[0].isdigit() or sentence[0] == "(")
        and sentence.endswith((".", "!", "?", '."', ".'", ".)", '?"', '!"'))
    )


def quotable_sentences(section_text: str) -> list[Sentence]:
    """The sentences of a section that may be quoted, in order.

    `section_text` is a guide chunk's text: a title line, then the section's Markdown.
    """
    body = section_text.split("\n", 1)[1] if "\n" in section_text else section_text
    blocks = _blocks(body)
    out: list[Sentence] = []
    for number, (block, is_item) in enumerate(blocks):
        labelled = False
        if is_item:
            label = _BOLD_LABEL.match(block)
            if label is not None:
                block, labelled = block[label.end() :], label.group(1).endswith(":")
        block = " ".join(_ID_NOTE.sub("", block).replace("**", "").split())
        sentences = _split(block)
        # what follows a "**Track:**" label is the label's continuation, a fragment unless it opens a sentence
        if labelled and sentences and not sentences[0][0].isupper():
            sentences = sentences[1:]
        next_is_list = number + 1 < len(blocks) and blocks[number + 1][1]
        kept_before: int | None = None  # index in `out` of the previous sentence of this block, if kept
        for position, sentence in enumerate(sentences):
            introduces_list = position == len(sentences) - 1 and next_is_list and bool(_POINTS_AHEAD.search(sentence))
            dependent = bool(_DEPENDENT_START.match(sentence) or _POINTS_BACK.search(sentence))
            if not _stands_alone(sentence) or introduces_list or (dependent and kept_before is None):
                kept_before = None
                continue
            out.append(Sentence(sentence, number, kept_before if dependent else None))
            kept_before = len(out) - 1
    return out


def rarity(pool: Sequence[set[str]]) -> dict[str, float]:
    """How telling each stem is among the candidate passages: rare ones count more."""
    counts: dict[str, int] = {}
    for terms in pool:
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    size = max(1, len(pool))
    return {term: math.log(1 + size / count) for term, count in counts.items()}


def pick(
    sentences: Sequence[Sentence], scores: Sequence[float], count: int, positive_only: bool = False
) -> list[Sentence]:
    """The `count` best sentences in their original order; one that leans on another comes only with it."""
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    chosen: set[int] = set()
    changed = True
    while changed and len(chosen) < count:
        changed = False
        for i in order:
            if len(chosen) >= count:
                break
            if i in chosen or (positive_only and scores[i] <= 0):
                continue
            before = sentences[i].leans_on
            if before is not None and before not in chosen:
                continue
            chosen.add(i)
            changed = True
            break
    return [sentences[i] for i in sorted(chosen)]


def best_sentences(section_text: str, wanted: Wanted, count: int) -> str:
    """The `count` quotable sentences of a section that best fit what is wanted, joined; '' when none."""
    sentences = quotable_sentences(section_text)
    if not sentences:
        return ""
    terms = [stems(s.text) for s in sentences]
    weights = rarity(terms)
    scores = [wanted.score(t, weights) for t in terms]
    return " ".join(s.text for s in pick(sentences, scores, count))


def best_items(items: Sequence[str], wanted: Wanted, count: int, elsewhere: Wanted, strict: bool = False) -> list[str]:
    """The `count` items that fit best, in their written order.

    An item about `elsewhere` (the other directions a guide covers) ranks after the others; with
    `strict`, one that says more about those than about what is wanted is left out, so that a nurse
    heading for data analysis is not told about the UX gap.
    """
    terms = [stems(item) for item in items]
    weights = rarity(terms)
    fit = [wanted.score(t, weights) for t in terms]
    off = [elsewhere.score(t - wanted.terms, weights) for t in terms]
    keep = list(range(len(items)))
    if strict:
        keep = [i for i in keep if off[i] == 0 or fit[i] > off[i]]
        if any(fit[i] > 0 for i in keep):
            # where some items name the direction asked about, the others are about another one in other words
            keep = [i for i in keep if fit[i] > 0]
    order = sorted(keep, key=lambda i: (-(fit[i] - off[i] / 2), i))[:count]
    return [items[i] for i in sorted(order)]
