"""What the model is shown: the question, the profile, a condensed history, the ranking, and fenced sources.

Source texts come from the knowledge index; a user or a knowledge file could put instructions in
them, so each is fenced and numbered as data, and text that would close a fence is neutralised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.models import Answer, Profile, Source, Turn

MAX_SOURCE_CHARS = 2500
# The first sources of an answer carry its substance; more only lengthen the prompt (and its cost) and
# give a question that names dozens of credentials a way to fill the model's context.
MAX_PROMPT_SOURCES = 8
HISTORY_TURNS = 4
_FENCE = re.compile(r"</?\s*source\b", re.IGNORECASE)


def prompt_sources(answer: Answer) -> list[Source]:
    """The sources the model is given: the answer's first MAX_PROMPT_SOURCES, keeping their numbers."""
    return answer.sources[:MAX_PROMPT_SOURCES]


def source_chunks(answer: Answer, catalog: Catalog) -> list[IndexedChunk | None]:
    """The indexed chunk behind each numbered source the model is given."""
    chunks: list[IndexedChunk | None] = []
    for source in prompt_sources(answer):
        match = next(
            (c for c in catalog.chunks if c.record_id == source.id and c.title == source.title),
            None,
        )
        chunks.append(match)
    return chunks


def fenced_sources(answer: Answer, catalog: Catalog) -> str:
    blocks = []
    for number, (source, chunk) in enumerate(
        zip(prompt_sources(answer), source_chunks(answer, catalog), strict=True), 1
    ):
        text = chunk.text if chunk is not None else source.title
        text = _FENCE.sub("(source", text[:MAX_SOURCE_CHARS])
        blocks.append(f'<source n="{number}" title="{_FENCE.sub("(source", source.title)}">\n{text}\n</source>')
    return "\n".join(blocks) if blocks else "(none)"


def profile_lines(profile: Profile | None) -> str:
    if profile is None:
        return "(nothing known)"
    fields = profile.model_dump(exclude_defaults=True, mode="json")
    return "\n".join(f"- {name.replace('_', ' ')}: {value}" for name, value in fields.items()) or "(nothing known)"


def condensed_history(history: Sequence[Turn]) -> str:
    """The last turns as one line each: what was asked and what was recommended, not the full replies."""
    lines = []
    for turn in list(history)[-HISTORY_TURNS:]:
        picks = f" -> recommended: {', '.join(turn.recommendation_ids)}" if turn.recommendation_ids else ""
        lines.append(f"- ({turn.intent.value}) {turn.question[:300]}{picks}")
    return "\n".join(lines) or "(this is the first question)"


def ranking_lines(answer: Answer) -> str:
    lines = []
    for index, rec in enumerate(answer.recommendations[:MAX_PROMPT_SOURCES], 1):
        why = f": {rec.reason}" if rec.reason else ""
        lines.append(f"{index}. {rec.name} ({rec.provider}; {rec.level}; status {rec.status}){why}")
    return "\n".join(lines) or "(no credential to recommend for this question)"
