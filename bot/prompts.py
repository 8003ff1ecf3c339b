"""User-facing texts kept in prompts/, loaded and checked once at start."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"

# The placeholders each template must use, so a broken template fails at start, not in a user's chat.
NUDGE_FIELDS = frozenset({"next_step", "milestone", "target", "percent", "done", "total", "tip", "tip_source"})


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Texts:
    welcome: str
    help: str
    nudge: str
    nudge_no_plan: str

    @classmethod
    def load(cls, directory: Path = PROMPTS_DIR) -> Texts:
        def read(name: str, fields: frozenset[str] = frozenset()) -> str:
            path = directory / name
            try:
                text = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                raise RuntimeError(f"missing text file {path}") from None
            if not text:
                raise RuntimeError(f"text file {path} is empty")
            try:
                found = placeholders(text)
            except ValueError as problem:
                raise RuntimeError(f"text file {path} is not a valid template: {problem}") from None
            if found != fields:
                missing, unknown = sorted(fields - found), sorted(found - fields)
                raise RuntimeError(f"text file {path}: missing placeholders {missing}, unknown {unknown}")
            return text

        return cls(
            welcome=read("welcome.txt"),
            help=read("help.txt"),
            nudge=read("nudge.txt", NUDGE_FIELDS),
            nudge_no_plan=read("nudge_no_plan.txt"),
        )
