"""The names people type for a provider, derived from how the catalog writes it.

A credential's `provider` is written for a reader: "Project Management Institute (PMI)",
"Google (on Coursera)", "Tableau (Salesforce)", "PeopleCert (owner of ITIL, formerly AXELOS)".
From it come the names a person would type (the name itself, its acronym, a former name) and the
provider's key, the one word-form every part of the bot compares. Platform notes ("on Coursera"),
parent companies ("Salesforce") and remarks ("an IBM company") name someone else and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ingest.text import match_form

_PARENTHESIS = re.compile(r"^(?P<main>[^()]*?)\s*\((?P<note>[^()]*)\)\s*$")
_FORMERLY = re.compile(r"^formerly\s+(?P<name>.+)$")
_CORPORATE_SUFFIXES = {"inc", "ltd", "llc", "gmbh"}
# Words two names of one organisation may share without being the same organisation's name.
_COMMON_NAME_WORDS = {
    "the",
    "of",
    "and",
    "for",
    "an",
    "a",
    "on",
    "with",
    "international",
    "institute",
    "university",
    "school",
    "training",
    "foundation",
    "association",
    "group",
    "online",
    "academy",
}


@dataclass(frozen=True)
class DerivedNames:
    """What one provider string yields: the key it would have on its own, and the names people type."""

    key: str
    names: tuple[str, ...]  # in match form, without the surrounding spaces


def abbreviates(short: str, long: str) -> bool:
    """`short` is made of the starts of `long`'s words, in order: AWS, IIBA, OffSec, ICAgile, UXQB.

    `short` is one word; words of `long` may be skipped ("of", "and"); an x stands for a word starting
    with "ex" (UX). Capitals alone are tried too, for acronyms with small letters in them (IxDF, NN/g).
    """
    if len(short.split()) != 1:
        return False
    words = match_form(long).split()
    letters = re.sub(r"[^a-z0-9]", "", short.lower())
    capitals = re.sub(r"[^A-Z0-9]", "", short).lower()
    candidates = {letters, capitals} - {""}
    return any(len(c) >= 2 and c != "".join(words) and _made_of_starts(c, words) for c in candidates)


def _made_of_starts(letters: str, words: Sequence[str]) -> bool:
    if not letters:
        return True
    for index, word in enumerate(words):
        rest = words[index + 1 :]
        if letters[0] == "x" and word.startswith("ex") and _made_of_starts(letters[1:], rest):
            return True
        for length in range(min(len(word), len(letters)), 0, -1):
            if letters.startswith(word[:length]) and _made_of_starts(letters[length:], rest):
                return True
    return False


def _shares_a_name_word(one: str, other: str) -> bool:
    return bool((set(match_form(one).split()) & set(match_form(other).split())) - _COMMON_NAME_WORDS)


def _without_the(name: str) -> str:
    return re.sub(r"^the\s+", "", name.strip(), flags=re.IGNORECASE)


def _key_form(name: str) -> str:
    """A key keeps the provider's own spelling, lower-cased: "scrum.org", "ec-council"."""
    return " ".join(name.lower().split())


def derive_names(provider: str) -> DerivedNames:
    """The key and names of one provider string, before the vocabulary's own provider table applies."""
    names: list[str] = []
    key = ""
    for part in provider.split(" / "):
        found = _PARENTHESIS.match(part)
        head, notes = (found["main"], found["note"].split(",")) if found else (part, [])
        main, *more = head.split(",")
        main = _without_the(main)
        part_key = _key_form(main)
        names.append(match_form(main).strip())
        for note in [*more, *notes]:
            note = note.strip()
            if not note or match_form(note).strip() in _CORPORATE_SUFFIXES:
                continue
            former = _FORMERLY.match(note)
            if former:
                names.append(match_form(former["name"]).strip())
            elif note[0].islower():
                continue  # "on Coursera", "an IBM company", "owner of ITIL": about someone else
            elif abbreviates(note, main):
                names.append(match_form(note).strip())
                part_key = _key_form(note)  # the acronym is what people say: PMI, IIBA, SHRM
            elif abbreviates(main, note) or _shares_a_name_word(main, note):
                names.append(match_form(_without_the(note)).strip())
        key = key or part_key
    unique = tuple(dict.fromkeys(n for n in names if len(n) >= 2))
    return DerivedNames(key, unique)


@dataclass
class ProviderTable:
    """Every catalog provider's key, and every name that points to a key."""

    key_of: dict[str, str] = field(default_factory=dict)  # provider as the catalog writes it -> key
    names: dict[str, str] = field(default_factory=dict)  # name in match form -> key
    conflicts: list[str] = field(default_factory=list)  # derived names that two keys claim

    @property
    def keys(self) -> set[str]:
        return set(self.key_of.values())


def provider_table(providers: Iterable[str], listed: Mapping[str, Sequence[str]]) -> ProviderTable:
    """Keys and names for the catalog's providers, with the vocabulary's table (`key -> names`) applied.

    A provider one of whose names the table lists takes that entry's key, so that established keys
    stay as they are ("Amazon Web Services (AWS)" is "amazon"); any other takes its acronym, else its
    name. The table's names point to their key whether or not the catalog spells them.
    """
    listed_key = {name: key for key, names in listed.items() for name in names}
    table = ProviderTable()
    for provider in sorted(set(providers)):
        derived = derive_names(provider)
        keys = [listed_key[n] for n in derived.names if n in listed_key]
        key = keys[0] if keys else derived.key
        table.key_of[provider] = key
        for name in derived.names:
            claimed = table.names.setdefault(name, key)
            if claimed != key and name not in listed_key:
                table.conflicts.append(
                    f"{name!r} is a name of both {claimed!r} and {key!r} (from {provider!r}); "
                    "list it under one key in providers"
                )
    table.names.update(listed_key)
    return table
