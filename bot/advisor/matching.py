"""Which providers, fields and occupations a piece of text names.

The advisor reading a question, the onboarding reading an answer and the planner reading a profile
all recognise names here, so the same words name the same provider, field or role everywhere.

How one occupation is chosen when a text names several, the one rule for every reader:

1. The earliest name in the text wins, and of the names that start at the same word, the longest.
   A text that names two roles is about the one it names first ("data analyst, and later machine
   learning engineer"), and a question's target is the first role named after "become a". A longer
   name that contains a shorter one starts at or before it, so "agile project manager" still wins
   over "project manager", and "machine learning engineer" over "engineer".
2. Between occupations that share a name, or a primary field, the smallest id wins. The catalog's
   own order is the order in which the index hands back its rows, which the next ingest may change;
   ids do not change, and the same words must name the same role tomorrow.
"""

from __future__ import annotations

import re

from bot.advisor.catalog import Catalog
from bot.advisor.vocabulary import Vocabulary, match_form
from ingest.schema import Domain, Occupation

# "IT" in capitals means the field, not the pronoun.
_IT_FIELD = re.compile(r"\bIT\b")


# --- providers ------------------------------------------------------------------------------------


def providers_named_in(text: str, vocab: Vocabulary) -> list[str]:
    """The keys of the providers the text names, each once, in the order named: "AWS or Azure" -> amazon, microsoft.

    A name that is also an everyday word ("apple", "meta") counts only when written with a capital.
    """
    found: list[str] = []
    end = 0  # a longer name takes its words: "DeepLearning.AI and Stanford Online" is one provider, not two
    for position, name in sorted(vocab.provider_index.occurrences(match_form(text)), key=lambda o: (o[0], -len(o[1]))):
        if position < end or (name in vocab.capitalised_provider_names and not _capitalised_in(name, text)):
            continue
        end = position + len(name) - 1
        key = vocab.provider_names[name.strip()]
        if key not in found:
            found.append(key)
    return found


def _capitalised_in(name: str, text: str) -> bool:
    words = r"[^A-Za-z0-9+#]+".join(re.escape(word) for word in name.split())
    pattern = re.compile(rf"(?<![A-Za-z0-9]){words}(?![A-Za-z0-9])", re.IGNORECASE)
    return any(found.group()[0].isupper() for found in pattern.finditer(text))


def provider_key(name: str, vocab: Vocabulary) -> str:
    """The provider key a name stands for: "AWS", "Amazon" and "Amazon Web Services (AWS)" are all "amazon".

    A provider as the catalog writes it has its own key ("Tableau (Salesforce)" is "tableau"); another
    name stands for the first provider it names; a name of no provider we know stands for itself, in match form.
    """
    if name.strip() in vocab.provider_keys:
        return vocab.provider_keys[name.strip()]
    named = providers_named_in(name, vocab)
    return named[0] if named else match_form(name).strip()


# --- fields ---------------------------------------------------------------------------------------


def fields_named_in(text: str, vocab: Vocabulary, *, capital_it: bool = True) -> list[Domain]:
    """The fields a text names, the one with the longest keyword first, then the one named earliest.

    The longest keyword says most ("cloud security" over "cloud"). With `capital_it`, "IT" in capitals
    names IT support too, last, so that it decides only when nothing narrower is named; a role someone
    already holds is read without it ("IT recruiter" works in recruiting).
    """
    form = match_form(text)
    scored: list[tuple[int, int, Domain]] = []
    for domain, words in vocab.words.fields.items():
        named = [w for w in words if f" {w} " in form]
        if named:
            scored.append((-max(len(w) for w in named), min(form.find(f" {w} ") for w in named), domain))
    scored.sort(key=lambda s: (s[0], s[1]))
    found = [domain for _, _, domain in scored]
    if capital_it and _IT_FIELD.search(text) and Domain.IT_SUPPORT not in found:
        found.append(Domain.IT_SUPPORT)
    return found


# --- occupations ----------------------------------------------------------------------------------


def occupation_named_in(text: str, vocab: Vocabulary, *, after: int = 0) -> str | None:
    """The id of the occupation a text names, by the rule above; `after` is an offset in `match_form(text)`.

    Only names distinctive enough to mean the role inside a sentence count (not "developer" or "BA").
    """
    best: tuple[int, int, str] | None = None
    for position, name in vocab.occupation_index.occurrences(match_form(text), after):
        if best is not None and position > best[0]:
            break  # occurrences come in order of position: the earliest ones have all been seen
        if best is None or len(name) > best[1]:
            best = (position, len(name), vocab.occupation_forms[name])
    return best[2] if best else None


def occupation_of_role(text: str, vocab: Vocabulary) -> str | None:
    """The id of the occupation a role, as a profile holds it, names.

    A text that is a whole title or alias names that role even when the word is too common to mean
    it inside a sentence: "BA" on its own is the business analyst. Otherwise as `occupation_named_in`.
    """
    return vocab.occupation_titles.get(match_form(text)) or occupation_named_in(text, vocab)


def occupation_for_field(catalog: Catalog, domain: Domain) -> Occupation | None:
    """The main role of a field: the occupation whose primary field it is, the smallest id among several."""
    for occupation_id in sorted(catalog.occupations):
        if catalog.occupations[occupation_id].domains[0] is domain:
            return catalog.occupations[occupation_id]
    return None


def find_target(text: str, catalog: Catalog, vocab: Vocabulary) -> tuple[str | None, Domain | None]:
    """The occupation and field a short answer like "data analyst" or "cybersecurity" names."""
    occupation = occupation_named_in(text, vocab)
    if occupation is not None:
        return occupation, catalog.occupations[occupation].domains[0]
    fields = fields_named_in(text, vocab)
    return None, (fields[0] if fields else None)
