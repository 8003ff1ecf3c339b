"""Words that map a question onto the knowledge base: credential names, providers, fields, levels, roles.

Built once from the catalog and the word lists of knowledge/vocabulary.yaml, so a credential or a
provider added to the knowledge base is recognised by its name, exam code and aliases without
touching code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ingest.providers import provider_table
from ingest.schema import Credential
from ingest.text import match_form
from ingest.vocabulary import WordLists

if TYPE_CHECKING:
    from bot.advisor.catalog import Catalog

__all__ = ["FormIndex", "Vocabulary", "credential_forms", "match_form"]


class FormIndex:
    """Where names in match form occur in a question, found by looking up each word of the question.

    Scanning the question once per known name grows with the catalog; this grows with the question.
    A name in match form starts with a space, so it can only occur where a word of the question
    starts, and only when that word is the name's first.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._by_first_word: dict[str, list[str]] = defaultdict(list)
        for name in names:
            words = name.split()
            if words:
                self._by_first_word[words[0]].append(name)

    def occurrences(self, form: str, start: int = 0) -> Iterator[tuple[int, str]]:
        """(position, name) of every occurrence at or after `start`, in order of position."""
        position = form.find(" ", start)
        while position != -1 and position < len(form) - 1:
            end = form.find(" ", position + 1)
            word = form[position + 1 : end if end != -1 else len(form)]
            for name in self._by_first_word.get(word, ()):
                if form.startswith(name, position):
                    yield position, name
            position = end


@dataclass
class Vocabulary:
    words: WordLists
    credential_forms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    occupation_forms: dict[str, str] = field(default_factory=dict)  # names that mean the role inside a sentence
    occupation_titles: dict[str, str] = field(default_factory=dict)  # every title and alias, however common
    role_forms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # from_role -> guide ids
    provider_names: dict[str, str] = field(default_factory=dict)  # name in match form -> provider key
    provider_keys: dict[str, str] = field(default_factory=dict)  # provider as the catalog writes it -> key
    needs_coding: set[str] = field(default_factory=set)  # credentials whose skills or prerequisites need programming

    # Lookups derived from the forms above, built on first use: a vocabulary is not changed once built.
    @cached_property
    def credential_index(self) -> FormIndex:
        return FormIndex(self.credential_forms)

    @cached_property
    def occupation_index(self) -> FormIndex:
        return FormIndex(self.occupation_forms)

    @cached_property
    def provider_index(self) -> FormIndex:
        return FormIndex(f" {name} " for name in self.provider_names)

    @cached_property
    def capitalised_provider_names(self) -> frozenset[str]:
        return frozenset(f" {name} " for name in self.words.capitalised_provider_names)

    @cached_property
    def forms_of_credential(self) -> dict[str, list[str]]:
        """credential id -> its forms."""
        by_id: dict[str, list[str]] = defaultdict(list)
        for name, ids in self.credential_forms.items():
            for cid in ids:
                by_id[cid].append(name)
        return dict(by_id)

    @cached_property
    def credential_form_rank(self) -> dict[str, int]:
        """Each credential form's place when all are ordered longest first, ties as they were added."""
        longest_first = sorted(self.credential_forms, key=lambda name: -len(name))
        return {name: rank for rank, name in enumerate(longest_first)}

    @cached_property
    def roles_longest_first(self) -> list[tuple[str, set[str]]]:
        return sorted(self.role_forms.items(), key=lambda kv: -len(kv[0]))

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Vocabulary:
        words = catalog.words
        vocab = cls(words)
        providers = provider_table((c.provider for c in catalog.credentials.values()), words.providers)
        vocab.provider_names, vocab.provider_keys = providers.names, providers.key_of
        too_generic = set(words.too_generic)
        for cred in catalog.credentials.values():
            for form in credential_forms(cred, words):
                vocab.credential_forms[form].add(cred.id)
            needs = match_form(" ".join([*cred.skills, *cred.prerequisites]))
            if any(f" {word} " in needs for word in words.coding_skills):
                vocab.needs_coding.add(cred.id)
        # a name two occupations share names the one with the smaller id (see bot/advisor/matching.py)
        for occ_id in sorted(catalog.occupations):
            occ = catalog.occupations[occ_id]
            for name in [occ.title, *occ.aliases]:
                form = match_form(name)
                if not form.strip():
                    continue
                vocab.occupation_titles.setdefault(form, occ.id)
                if form.strip() not in too_generic:
                    vocab.occupation_forms.setdefault(form, occ.id)
        for chunk in catalog.chunks:
            if chunk.kind == "guide" and chunk.meta.get("guide_kind") == "career-switch":
                for role in chunk.listed("from_roles"):
                    form = match_form(role)
                    if form.strip():
                        vocab.role_forms[form].add(chunk.record_id)
        return vocab


def _distinctive(form: str, original: str, too_generic: set[str]) -> bool:
    """A name form is usable on its own when it cannot be mistaken for ordinary words."""
    words = form.split()
    if not words:
        return False
    if len(words) >= 2:
        return not all(w in too_generic for w in words)
    word = words[0]
    if word in too_generic:
        return False
    if any(ch.isdigit() for ch in word) or "+" in word:
        return len(word) >= 2
    # single words count when the source spells them as an acronym (CISSP, CAPM, GAIQ)
    return len(word) >= 3 and original.strip().isupper()


def credential_forms(cred: Credential, words: WordLists) -> set[str]:
    """Every way people write this credential, in match form."""
    too_generic = set(words.too_generic)
    # longest first, so that "professional certificate" goes whole before "certificate" could split it
    filler = sorted(words.credential_filler, key=len, reverse=True)
    forms: set[str] = set()
    names = [cred.name, *cred.codes, *cred.aliases]
    official = match_form(cred.name)
    if len(official.split()) >= 2:
        # the full official name always identifies the credential, however ordinary its words
        forms.add(official)
    for alias in cred.aliases:
        # a curator listed this name for this credential; two words or more are not ordinary chatter
        if len(match_form(alias).split()) >= 2:
            forms.add(match_form(alias))
    for original in names:
        base = match_form(original)
        candidates = {base, base.replace("+", " plus ")}
        stripped = base
        for word in filler:
            stripped = stripped.replace(f" {word} ", " ")
        candidates.add(stripped)
        for prefix in words.vendor_prefixes:
            if stripped.startswith(f" {prefix} "):
                shorter = stripped[len(prefix) + 1 :]
                candidates.add(shorter)
                for suffix in words.level_suffixes:
                    if shorter.endswith(f" {suffix} ") and len(shorter.split()) > 2:
                        candidates.add(shorter[: -len(suffix) - 1])
        for form in list(candidates):
            # the first level of a numbered series is often named without its number ("PSM" for PSM I)
            for first in (" i ", " 1 "):
                if form.endswith(first) and len(form.split()) >= 2:
                    candidates.add(form[: -len(first)] + " ")
        for form in candidates:
            clean = " " + " ".join(form.split()) + " "
            if _distinctive(clean, original, too_generic):
                forms.add(clean)
    return forms
