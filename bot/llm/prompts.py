"""The LLM prompts in prompts/llm/, loaded and checked at start: a missing placeholder fails there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.advisor.models import Intent
from bot.prompts import PROMPTS_DIR, placeholders

# Intents the model writes; smalltalk and out-of-scope (injection attempts included) never reach it.
LLM_INTENTS = (Intent.RECOMMEND, Intent.COMPARE, Intent.CAREER_SWITCH, Intent.CREDENTIAL_INFO, Intent.GUIDANCE)
CONTEXT_FIELDS = frozenset({"question", "profile", "history", "ranking", "sources"})


class PromptError(RuntimeError):
    """A prompt file is missing or its placeholders are wrong."""


@dataclass(frozen=True)
class LLMPrompts:
    system: str
    context: str
    condense: str
    answers: dict[Intent, str]

    @classmethod
    def load(cls, directory: Path = PROMPTS_DIR / "llm") -> LLMPrompts:
        def read(name: str, fields: frozenset[str]) -> str:
            path = directory / name
            if not path.is_file():
                raise PromptError(f"missing prompt file {path}")
            text = path.read_text(encoding="utf-8").strip()
            try:
                found = placeholders(text)
            except ValueError as problem:
                raise PromptError(f"prompt file {path} is not a valid template: {problem}") from None
            if found != fields:
                raise PromptError(f"prompt file {path}: needs placeholders {sorted(fields)}, has {sorted(found)}")
            return text

        return cls(
            system=read("system.txt", frozenset()),
            context=read("context.txt", CONTEXT_FIELDS),
            condense=read("condense.txt", frozenset({"history", "question"})),
            answers={intent: read(f"answer_{intent.value}.txt", frozenset({"context"})) for intent in LLM_INTENTS},
        )
