"""The advisor's word lists: `knowledge/vocabulary.yaml`, its model and its rules.

The lists say which phrases name a field or a level, which names of providers cannot be derived from
the catalog, and which words are too common to identify a credential. Every phrase is written in match
form (ingest/text.py), the form the bot compares texts in, so what the file says is what is matched.
`python -m ingest --check` validates the file with the catalog it describes; the bot reads it when
it loads an index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from ingest.loader import line_of
from ingest.providers import provider_table
from ingest.schema import Domain, Level
from ingest.text import match_form

VOCABULARY_FILE = "vocabulary.yaml"

_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _in_match_form(phrase: str) -> str:
    form = match_form(phrase).strip()
    if not form:
        raise ValueError("empty phrase")
    if form != phrase:
        raise ValueError(f"write {phrase!r} in match form, as {form!r} (lower case, symbols folded to spaces)")
    return phrase


Phrase = Annotated[str, AfterValidator(_in_match_form)]


class Aspect(StrEnum):
    """What a question about one credential wants to know first."""

    ELIGIBILITY = "eligibility"
    JOB = "job"
    WORTH = "worth"
    STATUS = "status"
    COST = "cost"
    DURATION = "duration"
    DIFFICULTY = "difficulty"
    RENEWAL = "renewal"


class WordLists(BaseModel):
    """The file's content; see the comments in knowledge/vocabulary.yaml for what each list is for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[Domain, tuple[Phrase, ...]]
    shared_field_phrases: dict[Phrase, tuple[Domain, ...]] = {}
    levels: dict[Level, tuple[Phrase, ...]]
    level_answers: tuple[Phrase, ...] = ()
    providers: dict[Phrase, tuple[Phrase, ...]]
    capitalised_provider_names: tuple[Phrase, ...] = ()
    product_vendors: tuple[Phrase, ...]
    too_generic: tuple[Phrase, ...]
    credential_filler: tuple[Phrase, ...]
    vendor_prefixes: tuple[Phrase, ...]
    level_suffixes: tuple[Phrase, ...]
    aspects: dict[Aspect, tuple[Phrase, ...]] = {}
    no_code: tuple[Phrase, ...] = ()
    coding_skills: tuple[Phrase, ...] = ()

    def level_words(self, level: Level) -> tuple[str, ...]:
        return self.levels.get(level, ())


class VocabularyError(ValueError):
    """The vocabulary file cannot be used; `problems` says where and why, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


Location = tuple[str | int, ...]


def load_vocabulary(path: Path, providers: Iterable[str] | None = None) -> WordLists:
    """The word lists in `path`, checked by every rule; with `providers` (the catalog's provider strings),
    checked against the catalog too. Raises VocabularyError naming the file, the line and the entry."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VocabularyError([f"{path}: missing; the advisor reads its word lists from this file"]) from None
    try:
        data = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise VocabularyError([f"{where}: invalid YAML: {error}"]) from None
    if not isinstance(data, dict):
        raise VocabularyError([f"{path}:1: expected a mapping of lists"])
    try:
        words = WordLists.model_validate(data)
    except ValidationError as error:
        found = [(tuple(e["loc"]), e["msg"]) for e in error.errors()]
    else:
        found = rule_problems(words)
        if providers is not None:
            found += catalog_problems(words, providers)
    if found:
        tree = yaml.compose(text, Loader=_YamlLoader)
        raise VocabularyError([_describe(path, tree, loc, message) for loc, message in found])
    return words


def load_vocabulary_if_present(knowledge_dir: Path, providers: Iterable[str]) -> WordLists | None:
    """The knowledge folder's word lists checked against its catalog, or None for a folder without them."""
    path = knowledge_dir / VOCABULARY_FILE
    return load_vocabulary(path, providers) if path.exists() else None


def rule_problems(words: WordLists) -> list[tuple[Location, str]]:
    """What the model's types cannot say: every field and level has a list, no phrase twice, no overlaps."""
    problems: list[tuple[Location, str]] = []
    for domain in Domain:
        if not words.fields.get(domain):
            problems.append((("fields",), f"no phrases for the field {domain.value!r}; every field needs some"))
    for level in Level:
        if not words.levels.get(level):
            problems.append((("levels",), f"no phrases for the level {level.value!r}; every level needs some"))
    lists: list[tuple[Location, Sequence[str]]] = [
        *((("fields", d.value), p) for d, p in words.fields.items()),
        *((("levels", lv.value), p) for lv, p in words.levels.items()),
        *((("providers", key), names) for key, names in words.providers.items()),
        *((("aspects", a.value), p) for a, p in words.aspects.items()),
        *(((name,), getattr(words, name)) for name in _PLAIN_LISTS),
    ]
    for loc, phrases in lists:
        seen: set[str] = set()
        for index, phrase in enumerate(phrases):
            if phrase in seen:
                problems.append(((*loc, index), f"{phrase!r} is listed twice in {'.'.join(map(str, loc))}"))
            seen.add(phrase)
    problems += _shared_phrase_problems(words)
    problems += _overlap_problems("levels", {level.value: phrases for level, phrases in words.levels.items()}, "level")
    problems += _overlap_problems("providers", dict(words.providers), "provider key")
    problems += _overlap_problems("aspects", {a.value: phrases for a, phrases in words.aspects.items()}, "aspect")
    level_words = {p for phrases in words.levels.values() for p in phrases}
    for index, phrase in enumerate(words.level_answers):
        if phrase in level_words:
            problems.append((("level_answers", index), f"{phrase!r} is already a level word; list it once"))
    return problems


_PLAIN_LISTS = (
    "level_answers",
    "capitalised_provider_names",
    "product_vendors",
    "too_generic",
    "credential_filler",
    "vendor_prefixes",
    "level_suffixes",
    "no_code",
    "coding_skills",
)


def _shared_phrase_problems(words: WordLists) -> list[tuple[Location, str]]:
    """A phrase in two fields names both, so it must be meant: listed in shared_field_phrases with those fields."""
    problems: list[tuple[Location, str]] = []
    fields_of: dict[str, list[Domain]] = defaultdict(list)
    first_place: dict[str, Location] = {}
    for domain, phrases in words.fields.items():
        for index, phrase in enumerate(phrases):
            if domain not in fields_of[phrase]:
                fields_of[phrase].append(domain)
            first_place.setdefault(phrase, ("fields", domain.value, index))
    for phrase, domains in fields_of.items():
        allowed = words.shared_field_phrases.get(phrase)
        if len(domains) > 1 and (allowed is None or set(allowed) != set(domains)):
            names = ", ".join(d.value for d in domains)
            problems.append(
                (
                    first_place[phrase],
                    f"{phrase!r} is listed in several fields ({names}); list it in one, "
                    f"or under shared_field_phrases with exactly those fields",
                )
            )
    for phrase, shared in words.shared_field_phrases.items():
        if set(fields_of.get(phrase, [])) != set(shared) or len(shared) < 2:
            listed = ", ".join(d.value for d in fields_of.get(phrase, [])) or "none"
            problems.append(
                (("shared_field_phrases", phrase), f"{phrase!r} is not in exactly these fields (it is in: {listed})")
            )
    return problems


def _overlap_problems(section: str, lists: dict[str, Sequence[str]], what: str) -> list[tuple[Location, str]]:
    """A phrase under two entries of `section` would mean two things at once."""
    problems: list[tuple[Location, str]] = []
    owner: dict[str, str] = {}
    for entry, phrases in lists.items():
        for index, phrase in enumerate(phrases):
            if owner.setdefault(phrase, entry) != entry:
                problems.append(
                    ((section, entry, index), f"{phrase!r} is under {what} {owner[phrase]!r} and {entry!r}")
                )
    return problems


def catalog_problems(words: WordLists, providers: Iterable[str]) -> list[tuple[Location, str]]:
    """The provider keys and names the file uses must be the catalog's."""
    table = provider_table(providers, words.providers)
    problems: list[tuple[Location, str]] = [(("providers",), conflict) for conflict in table.conflicts]
    known = table.keys
    for key in words.providers:
        if key not in known:
            problems.append((("providers", key), f"{key!r} is not the key of any provider in the catalog"))
    for index, key in enumerate(words.product_vendors):
        if key not in known:
            problems.append(
                (("product_vendors", index), f"{key!r} is not a provider key; keys: {', '.join(sorted(known))}")
            )
    for index, name in enumerate(words.capitalised_provider_names):
        if name not in table.names:
            problems.append((("capitalised_provider_names", index), f"{name!r} is not a name of any provider"))
    return problems


def _describe(path: Path, tree: yaml.Node | None, loc: Location, message: str) -> str:
    line = line_of(tree, loc)
    where = f"{path}:{line}" if line else str(path)
    entry = ".".join(str(part) for part in loc)
    return f"{where}: {entry}: {message}" if entry else f"{where}: {message}"
