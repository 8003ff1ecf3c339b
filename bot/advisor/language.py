"""Which language a message is written in.

A kept detector that ships its model (py3langid, the maintained numpy port of langid.py) reads the
text after the names of credentials and providers are taken out: "¿qué tal AWS Cloud Practitioner?"
is Spanish, whatever the English words of the name say. A short or unclear message falls back to
what the caller knows (the language the person chose, or Telegram's `language_code`), then English.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.advisor.vocabulary import Vocabulary, match_form

ENGLISH = "en"
SUPPORTED = ("en", "es", "pt", "ru", "uk", "de", "fr")
# Below this probability, or with fewer letters than this once names are out, the text alone does not settle it
SURE_ENOUGH = 0.8
LIKELY = 0.5  # enough when nothing else is known about the person
FEWEST_LETTERS = 8
_UKRAINIAN_ONLY = re.compile("[іїєґ]")
_RUSSIAN_ONLY = re.compile("[ыэъё]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Detected:
    language: str
    confidence: float  # the detector's probability; 0 when the language came from the fallback
    from_text: bool


def supported(code: str | None) -> str | None:
    """A Telegram `language_code` ("pt-br", "uk") as one of the supported languages, or None."""
    if not code:
        return None
    base = code.lower().replace("_", "-").split("-")[0]
    return base if base in SUPPORTED else None


class LanguageDetector:
    """Loads the model on first use (about 50 MB once restricted to the supported languages)."""

    def __init__(self, languages: Iterable[str] = SUPPORTED) -> None:
        self.languages = tuple(languages)
        self._identifier: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        self._model()

    def _model(self) -> Any:
        with self._lock:
            if self._identifier is None:
                self._identifier = _load(self.languages)
            return self._identifier

    def detect(self, text: str, vocab: Vocabulary | None = None, fallback: str | None = None) -> Detected:
        """The language of `text`; `fallback` (the person's own language, if known) settles short or unclear ones."""
        rest = without_names(text, vocab) if vocab is not None else text
        known = supported(fallback)
        letters = _LETTER.findall(rest)
        if not letters:
            return Detected(known or ENGLISH, 0.0, from_text=False)
        cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
        if cyrillic * 2 > len(letters):
            # the script settles most of it: Cyrillic here is Russian or Ukrainian, and some letters are one's own
            lowered = rest.lower()
            if _UKRAINIAN_ONLY.search(lowered) and not _RUSSIAN_ONLY.search(lowered):
                return Detected("uk", 1.0, from_text=True)
            if _RUSSIAN_ONLY.search(lowered) and not _UKRAINIAN_ONLY.search(lowered):
                return Detected("ru", 1.0, from_text=True)
            candidates: tuple[str, ...] = ("ru", "uk")
        else:
            candidates = tuple(code for code in self.languages if code not in ("ru", "uk"))
        probabilities = {str(code): float(p) for code, p in self._model().rank(rest) if code in candidates}
        total = sum(probabilities.values()) or 1.0
        confidence, best = max((p / total, code) for code, p in probabilities.items())
        if known not in candidates and "ru" in candidates:
            known = None  # a Spanish speaker's message in Cyrillic is not Spanish, however short (but "ok" from
            # a Russian speaker is still theirs: everyone writes a few words in Latin letters)
        clear = confidence >= SURE_ENOUGH and len(letters) >= FEWEST_LETTERS
        if clear or (known is None and confidence >= LIKELY):
            return Detected(best, confidence, from_text=True)
        # a short or unclear message is in the person's own language when there is one, else English
        return Detected(known or ENGLISH, confidence, from_text=False)


def without_names(text: str, vocab: Vocabulary) -> str:
    """The text with the words of every credential and provider name it contains taken out."""
    form = match_form(text)
    words: set[str] = set()
    for index in (vocab.credential_index, vocab.provider_index):
        for _, name in index.occurrences(form):
            words.update(name.split())
    if not words:
        return text
    pattern = r"(?<![^\W_])(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?![^\W_])"
    return re.sub(pattern, " ", text, flags=re.IGNORECASE)


def _load(languages: tuple[str, ...]) -> Any:
    """The detector restricted to `languages`, built so that the full 97-language model is not kept."""
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier, _load_model_file

    ptc, pc, classes, nextmove, row, output = _load_model_file(MODEL_DIR / MODEL_FILE)
    keep = [i for i, code in enumerate(classes) if code in languages]
    return LanguageIdentifier(
        np.ascontiguousarray(np.asarray(ptc)[:, keep]),
        np.asarray(pc)[keep],
        [classes[i] for i in keep],
        nextmove,
        output,
        norm_probs=True,
        tk_row=row,
    )
