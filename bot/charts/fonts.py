"""Text for charts: one font family, characters it cannot draw replaced, lines fitted to a width in pixels.

Matplotlib warns for every glyph its fonts lack and then draws an empty box, so names are cleaned
before they reach it: the charts never warn, whatever a user or a record puts in a name.
"""

from __future__ import annotations

import functools
import unicodedata

from matplotlib import font_manager
from matplotlib.font_manager import FontProperties

from bot.charts.style import DPI

# DejaVu Sans ships with matplotlib, so every machine draws the same text. CJK fonts, when the
# system has one, are added as fallbacks; colour-emoji fonts are not, as FreeType in Agg cannot draw them.
PRIMARY_FAMILY = "DejaVu Sans"
FALLBACK_FAMILIES = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)
MISSING = "□"  # stands in for a letter the fonts lack, so the reader sees something was there
ELLIPSIS = "…"
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Sk", "So"})


@functools.cache
def families() -> tuple[str, ...]:
    """The font families to draw with, the primary first and only fallbacks that are installed."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return (PRIMARY_FAMILY, *(name for name in FALLBACK_FAMILIES if name in installed))


def font(size: float, bold: bool = False) -> FontProperties:
    return FontProperties(family=list(families()), size=size, weight="bold" if bold else "normal")


@functools.cache
def _faces(bold: bool) -> tuple[tuple[str, frozenset[int]], ...]:
    """Each family's font file at this weight with the code points it covers, the primary first."""
    faces = []
    for family in families():
        prop = FontProperties(family=family, weight="bold" if bold else "normal")
        path = font_manager.findfont(prop, fallback_to_default=False)
        faces.append((path, frozenset(font_manager.get_font(path).get_charmap())))
    return tuple(faces)


@functools.cache
def _coverage(bold: bool) -> frozenset[int]:
    """Every code point some font of the chain can draw at this weight."""
    return frozenset().union(*(points for _, points in _faces(bold)))


@functools.lru_cache(maxsize=16384)
def _advance(char: str, size: float, bold: bool) -> float:
    """How far, in pixels, the pen moves past this character (unhinted, as laid out)."""
    for path, points in _faces(bold):
        if ord(char) in points:
            face = font_manager.get_font(path)  # matplotlib keeps one per thread
            face.set_size(size, DPI)
            return float(face.load_char(ord(char)).linearHoriAdvance) / 65536
    return 0.0


def drawable(text: str, bold: bool = False) -> str:
    """The text on one line with only characters the fonts have.

    Missing letters and digits become a box; missing marks, symbols and emoji (with their joiners
    and variation selectors) are dropped, as a box there says nothing.
    """
    covered = _coverage(bold)
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            out.append(" ")
        elif ord(char) in covered and unicodedata.category(char) not in {"Cc", "Cf"} and not _is_selector(char):
            out.append(char)
        elif unicodedata.category(char) not in _DROPPED_CATEGORIES:
            out.append(MISSING)
    return " ".join("".join(out).split())


def _is_selector(char: str) -> bool:
    """Variation selectors ask for emoji or text style; without an emoji font they only add noise."""
    return "\ufe00" <= char <= "\ufe0f"


class TextFitter:
    """Measures text by its glyphs' advances and fits it to a width in pixels.

    The sum of advances is a hair wider than what Agg draws (no kerning), so fitted text never overflows;
    it is also a thousand times faster than laying out each trial string.
    """

    def width(self, text: str, prop: FontProperties) -> float:
        size, bold = float(prop.get_size_in_points()), prop.get_weight() == "bold"
        return sum(_advance(char, size, bold) for char in text)

    def ellipsize(self, text: str, prop: FontProperties, max_width: float) -> str:
        """The text, or its longest start that fits with an ellipsis."""
        if self.width(text, prop) <= max_width:
            return text
        keep = self._longest_prefix(text, prop, max_width, suffix=ELLIPSIS)
        return text[:keep].rstrip() + ELLIPSIS

    def wrap(self, text: str, prop: FontProperties, max_width: float, max_lines: int) -> list[str]:
        """Greedy word wrap; a word wider than a line (a CJK run has no spaces) is cut, the last line ellipsized."""
        lines: list[str] = []
        words = text.split()
        current = ""
        while words:
            word = words.pop(0)
            candidate = f"{current} {word}" if current else word
            if self.width(candidate, prop) <= max_width:
                current = candidate
            elif current:
                lines.append(current)
                current = ""
                words.insert(0, word)
            else:
                cut = max(1, self._longest_prefix(word, prop, max_width))
                lines.append(word[:cut])
                if word[cut:]:
                    words.insert(0, word[cut:])
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            overflow = f"{lines[max_lines - 1]} {lines[max_lines]}"
            lines = [*lines[: max_lines - 1], self.ellipsize(overflow, prop, max_width)]
        return lines or [""]

    def _longest_prefix(self, text: str, prop: FontProperties, max_width: float, suffix: str = "") -> int:
        """The largest n for which text[:n] followed by the suffix fits; 0 when none does."""
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(text[:middle] + suffix, prop) <= max_width:
                low = middle
            else:
                high = middle - 1
        return low
