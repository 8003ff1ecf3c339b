"""The LLM prompts in prompts/llm/, loaded and checked at start: a missing placeholder fails there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.advisor.models import Intent
from bot.prompts import PromptError, placeholders, read_template, require_dir, resolve_prompts_dir

__all__ = ["LLM_INTENTS", "LLMPrompts", "PromptError"]  # PromptError is defined with the texts, raised here too

# Intents the model writes; smalltalk and out-of-scope (injection attempts included) never reach it.
LLM_INTENTS = (Intent.RECOMMEND, Intent.COMPARE, Intent.CAREER_SWITCH, Intent.CREDENTIAL_INFO, Intent.GUIDANCE)
CONTEXT_FIELDS = frozenset({"question", "profile", "history", "ranking", "sources"})


@dataclass(frozen=True)
class LLMPrompts:
    system: str
    context: str
    condense: str
    answers: dict[Intent, str]

    @classmethod
    def load(cls, directory: Path | None = None) -> LLMPrompts:
        """Read the LLM prompts from `directory`, by default the llm/ folder of the default prompts directory."""
        directory = directory if directory is not None else resolve_prompts_dir() / "llm"
        require_dir(directory)

        def read(name: str, fields: frozenset[str]) -> str:
            path = directory / name
            text = read_template(path)
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

    @classmethod
    def from_prompts_dir(cls, prompts_dir: Path | None) -> LLMPrompts:
        """The llm/ folder of PROMPTS_DIR (`settings.prompts_dir`)."""
        return cls.load(resolve_prompts_dir(prompts_dir) / "llm")
