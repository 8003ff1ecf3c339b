"""Turning an Answer into Telegram messages: HTML with every value escaped, split under the limit."""

from __future__ import annotations

import html
import re

from bot.advisor import Answer

TELEGRAM_LIMIT = 4096
# A single plain line is cut before escaping so that, even if every character expands to an
# entity like &quot; (6 characters), the escaped piece stays under the limit.
MAX_PLAIN_PIECE = 600
_CITATION = re.compile(r"\[(\d+)\]")
_URL = re.compile(r"^\s*https://\S+$")


def utf16_len(text: str) -> int:
    """Telegram measures message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _pieces(line: str) -> list[str]:
    if len(line) <= MAX_PLAIN_PIECE:
        return [line]
    pieces, rest = [], line
    while len(rest) > MAX_PLAIN_PIECE:
        cut = rest.rfind(" ", 0, MAX_PLAIN_PIECE)
        cut = cut if cut > MAX_PLAIN_PIECE // 2 else MAX_PLAIN_PIECE
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return pieces


def line_to_html(line: str, *, bold: bool = False) -> str:
    escaped = html.escape(line, quote=False)
    if bold and escaped.strip():
        return f"<b>{escaped}</b>"
    return escaped


def answer_to_html_lines(answer: Answer) -> list[str]:
    """One HTML line per plain line: the first line bold, sources listed with their files."""
    lines: list[str] = []
    for index, line in enumerate(answer.text.splitlines()):
        for piece in _pieces(line):
            lines.append(line_to_html(piece, bold=index == 0 and len(answer.text.splitlines()) > 1))
    if answer.sources:
        lines += ["", "<b>Sources</b>"]
        for number, source in enumerate(answer.sources, 1):
            for piece in _pieces(f"[{number}] {source.title} ({source.path})"):
                lines.append(line_to_html(piece))
    return lines


def split_messages(lines: list[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pack HTML lines into messages of at most `limit` UTF-16 units, never cutting a line."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        extra = utf16_len(line) + (1 if current else 0)
        if current and size + extra > limit:
            messages.append("\n".join(current).strip("\n"))
            current, size = [], 0
            extra = utf16_len(line)
        current.append(line)
        size += extra
    if current:
        messages.append("\n".join(current).strip("\n"))
    return [m for m in messages if m.strip()] or ["…"]


# Ends the last message of a reply that had to be cut to the number of messages one input may produce.
SHORTENED_NOTE = "… (shortened: ask about one credential or topic at a time for the rest)"


def fit_messages(messages: list[str], count: int, note: str = SHORTENED_NOTE) -> list[str]:
    """At most `count` messages; when some had to go, the last one kept ends with `note`, still under the limit.

    Each HTML line is complete in itself (see `line_to_html`), so dropping whole lines keeps the markup valid.
    """
    if len(messages) <= count:
        return messages
    if count < 1:
        return []
    kept = messages[:count]
    marker = line_to_html(note)
    lines = kept[-1].split("\n")
    while lines and utf16_len("\n".join([*lines, marker])) > TELEGRAM_LIMIT:
        lines.pop()
    kept[-1] = "\n".join([*lines, marker]).strip("\n")
    return kept


def render_answer(answer: Answer) -> list[str]:
    return split_messages(answer_to_html_lines(answer))


def render_text(text: str) -> list[str]:
    """Plain text (help, errors) as escaped HTML messages."""
    return split_messages([line_to_html(p) for line in text.splitlines() for p in _pieces(line)])
