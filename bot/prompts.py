"""User-facing texts kept in prompts/ (or PROMPTS_DIR), loaded and checked once at start."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

# prompts/ beside the bot package: there in a source checkout and an editable install, but not in
# site-packages after a regular install, which is what PROMPTS_DIR is for.
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(RuntimeError):
    """The prompts directory or one of its files is missing or malformed; the message is one line."""


def resolve_prompts_dir(configured: Path | None = None) -> Path:
    """PROMPTS_DIR when set; else the repository's prompts/ when it exists; else prompts/ in the working directory."""
    if configured is not None:
        return configured
    return PROMPTS_DIR if PROMPTS_DIR.is_dir() else Path("prompts")


_WHERE = "set PROMPTS_DIR to the folder that holds welcome.txt, help.txt and llm/"


def require_dir(directory: Path) -> None:
    if not directory.is_dir():
        raise PromptError(f"prompts directory {directory} not found; {_WHERE}")


def read_template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise PromptError(f"missing prompt file {path}; {_WHERE}") from None


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
    held_noted: str  # {names}: credentials the person said they hold, just noted in their profile as done

    @classmethod
    def load(cls, prompts_dir: Path | None = None) -> Texts:
        """Read the texts from PROMPTS_DIR (`settings.prompts_dir`); None means the default place."""
        directory = resolve_prompts_dir(prompts_dir)
        require_dir(directory)

        def read(name: str, fields: frozenset[str] = frozenset()) -> str:
            path = directory / name
            text = read_template(path)
            if not text:
                raise PromptError(f"text file {path} is empty")
            try:
                found = placeholders(text)
            except ValueError as problem:
                raise PromptError(f"text file {path} is not a valid template: {problem}") from None
            if found != fields:
                missing, unknown = sorted(fields - found), sorted(found - fields)
                raise PromptError(f"text file {path}: missing placeholders {missing}, unknown {unknown}")
            return text

        return cls(
            welcome=read("welcome.txt"),
            help=read("help.txt"),
            nudge=read("nudge.txt", NUDGE_FIELDS),
            nudge_no_plan=read("nudge_no_plan.txt"),
            held_noted=read("held_noted.txt", frozenset({"names"})),
        )
