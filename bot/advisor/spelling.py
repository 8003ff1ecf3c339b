"""Credential names written with a typo: "secruity plus", "azure fundamentels", "cissp" typed "cisp".

The exact matcher (bot/advisor/understanding.py) finds names as the catalog spells them. When a
question plainly asks about a credential and that matcher finds none, the name may be misspelt: each
run of the question's words is compared with the catalog's names of as many words, and a name close
enough in spelling counts as named. It runs only then, so its cost stays off the common path.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from bot.advisor.vocabulary import Vocabulary

# How alike a run of words and a name must be (difflib's ratio: 2 * matches / total length). 0.85 lets
# one or two letters be swapped, dropped or doubled in a name of 10 or more letters, and no more.
CLOSE_ENOUGH = 0.85
# How alike each word must be to the name's word in its place: a typo changes a word, it does not
# replace it ("is security" is not "aws security") or cut it short ("cloud" is not "cloudops").
CLOSE_ENOUGH_WORD = 0.8
# Shorter names differ by a letter from ordinary words too ("cap" / "capm"), so they are not guessed.
SHORTEST_GUESSED = 6


def _word_by_word(run: str, name: str) -> bool:
    """Each word is a typo of the name's word in its place: "cloud engineer" is not "cloudops engineer"."""
    return all(
        SequenceMatcher(None, said, meant, autojunk=False).ratio() >= CLOSE_ENOUGH_WORD
        for said, meant in zip(run.split(), name.split(), strict=True)
    )


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def credentials_spelled_like(form: str, vocab: Vocabulary) -> list[str]:
    """Ids of the credentials whose name is written with a typo in `form` (a text in match form), best first.

    Only the closest name counts; names equally close all count (two credentials can share one).
    """
    words = form.split()
    best = CLOSE_ENOUGH
    found: list[str] = []
    for name, ids in vocab.credential_forms.items():
        target = name.strip()
        if len(target) < SHORTEST_GUESSED:
            continue
        width = len(target.split())
        for start in range(len(words) - width + 1):
            run = " ".join(words[start : start + width])
            if abs(len(run) - len(target)) > len(target) * (1 - CLOSE_ENOUGH) * 2:
                continue  # runs of very different length cannot be close
            if _letters(run) == _letters(target):
                continue  # exact names are the exact matcher's; "cloud" is not a typo of "cloud+"
            matcher = SequenceMatcher(None, run, target, autojunk=False)
            if matcher.real_quick_ratio() < best or matcher.quick_ratio() < best:
                continue
            ratio = matcher.ratio()
            if ratio < best or not _word_by_word(run, target):
                continue
            if ratio > best:
                best, found = ratio, sorted(ids)
            elif ratio == best:
                found += [cid for cid in sorted(ids) if cid not in found]
    return found
