"""The match form: how names and phrases are compared wherever the bot recognises them in a text."""

from __future__ import annotations

import re

_MATCH_CLEAN = re.compile(r"[^a-z0-9+#]+")


def match_form(text: str) -> str:
    """Lower-case, keep + and # (Security+, C#), and fold every other run of symbols to a space.

    The result starts and ends with a space, so `f" {phrase} " in match_form(text)` finds whole words.
    """
    return " " + _MATCH_CLEAN.sub(" ", text.lower().replace("&", " and ")).strip() + " "
