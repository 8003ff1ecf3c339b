"""`python -m bot ask`: answer questions from the command line, as JSON for machines."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot.advisor import Advisor, Answer, Profile


def answer_json(answer: Answer, latency_ms: float) -> dict[str, Any]:
    return {
        "question": answer.question,
        "intent": answer.intent.value,
        "in_scope": answer.in_scope,
        "mode": answer.mode,
        "answer": answer.text,
        "recommendations": [r.model_dump(exclude={"reason"}) for r in answer.recommendations],
        "sources": [s.model_dump() for s in answer.sources],
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
    advisor: Advisor, question: str | None, profile: Profile | None, as_json: bool, stdin: TextIO, out: TextIO
) -> int:
    questions: Iterable[str] = [question] if question is not None else (line.rstrip("\n") for line in stdin)
    advisor.load()
    for text in questions:
        if not text.strip():
            continue
        started = time.perf_counter()
        answer = advisor.answer(text, profile)
        latency = (time.perf_counter() - started) * 1000
        if as_json:
            out.write(json.dumps(answer_json(answer, latency), ensure_ascii=False) + "\n")
        else:
            out.write(render_plain(answer) + "\n\n")
        out.flush()
    return 0


def render_plain(answer: Answer) -> str:
    lines = [answer.text]
    if answer.sources:
        lines += ["", "Sources:"] + [f"[{i}] {s.title} ({s.path})" for i, s in enumerate(answer.sources, 1)]
    return "\n".join(lines)


def main_ask(advisor: Advisor, question: str | None, profile_path: Path | None, as_json: bool) -> int:
    return run_ask(advisor, question, load_profile(profile_path), as_json, sys.stdin, sys.stdout)
