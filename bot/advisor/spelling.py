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
# Shorter names differ by a letter from ordinary words too ("cap" / "capm"), so they are not guessed.
SHORTEST_GUESSED = 6


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
            if run == target or abs(len(run) - len(target)) > len(target) * (1 - CLOSE_ENOUGH) * 2:
                continue  # exact names are the exact matcher's; runs of very different length cannot be close
            matcher = SequenceMatcher(None, run, target, autojunk=False)
            if matcher.real_quick_ratio() < best or matcher.quick_ratio() < best:
                continue
            ratio = matcher.ratio()
            if ratio > best:
                best, found = ratio, sorted(ids)
            elif ratio == best:
                found += [cid for cid in sorted(ids) if cid not in found]
    return found
