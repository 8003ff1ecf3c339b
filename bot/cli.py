"""`python -m bot ask`: answer questions from the command line, as JSON for machines."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from bot.advisor import Advisor, Answer, Profile

if TYPE_CHECKING:
    from bot.llm.answerer import LLMAnswerer


def answer_json(answer: Answer, latency_ms: float) -> dict[str, Any]:
    return {
        "question": answer.question,
        "intent": answer.intent.value,
        "in_scope": answer.in_scope,
        "mode": answer.mode,
        "answer": answer.text,
        "recommendations": [r.model_dump(exclude={"reason"}) for r in answer.recommendations],
        "sources": [s.model_dump() for s in answer.sources],
        "language": answer.language,
        "question_language": answer.asked_in,
        "latency_ms": round(latency_ms, 1),
    }


def load_profile(path: Path | None) -> Profile | None:
    if path is None:
        return None
    try:
        return Profile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise SystemExit(f"error: profile file not found: {path}") from None
    except (json.JSONDecodeError, ValidationError) as error:
        raise SystemExit(f"error: profile file {path} is not a valid profile: {error}") from None


def run_ask(
    advisor: Advisor,
    question: str | None,
    profile: Profile | None,
    as_json: bool,
    stdin: TextIO,
    out: TextIO,
    llm: LLMAnswerer | None = None,
) -> int:
    questions: Iterable[str] = [question] if question is not None else (line.rstrip("\n") for line in stdin)
    advisor.load()
    # one event loop for every question: the model's HTTP client belongs to the loop it was first used on
    loop = asyncio.new_event_loop() if llm is not None else None
    try:
        for text in questions:
            if not text.strip():
                continue
            started = time.perf_counter()
            answer = advisor.answer(text, profile)
            if llm is not None and loop is not None:
                state = advisor.state
                answer = loop.run_until_complete(llm.write(answer, profile, (), state.catalog, state.vocab))
            latency = (time.perf_counter() - started) * 1000
            _print(answer, latency, as_json, out)
    finally:
        if loop is not None:
            loop.close()
    return 0


def _print(answer: Answer, latency: float, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(answer_json(answer, latency), ensure_ascii=False) + "\n")
    else:
        out.write(render_plain(answer) + "\n\n")
    out.flush()


def render_plain(answer: Answer) -> str:
    lines = [answer.text]
    if answer.sources:
        lines += ["", "Sources:"] + [f"[{i}] {s.title} ({s.path})" for i, s in enumerate(answer.sources, 1)]
    return "\n".join(lines)


def main_ask(
    advisor: Advisor,
    question: str | None,
    profile_path: Path | None,
    as_json: bool,
    llm: LLMAnswerer | None = None,
) -> int:
    return run_ask(advisor, question, load_profile(profile_path), as_json, sys.stdin, sys.stdout, llm)
