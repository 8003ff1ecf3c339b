"""The labelled corpus of user messages that the understanding classifiers learn from.

`knowledge/understanding/train.jsonl` and `validation.jsonl` hold one labelled message per line:
what a person typed, its intent, the fields they want to work or learn in, and the facets it states.
A separate test file (under `tests/eval/`) is written apart from these and never trained or tuned on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.schema import Domain, Level

CORPUS_DIR = "understanding"
TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"


class MessageIntent(StrEnum):
    """What a message asks for: the decision that shapes a good answer."""

    RECOMMEND = "recommend"
    COMPARE = "compare"
    CREDENTIAL_INFO = "credential_info"
    CAREER_SWITCH = "career_switch"
    SKILLS_GAP = "skills_gap"
    PAY = "pay"
    JOB_AD = "job_ad"
    GUIDANCE = "guidance"
    FOLLOWUP = "followup"
    SMALLTALK = "smalltalk"
    ABOUT_BOT = "about_bot"
    CANNOT_DO = "cannot_do"
    OUT_OF_SCOPE = "out_of_scope"


# Fields people ask about that the catalog does not cover yet. They are labelled all the same, so that
# "accounting certification" is recognised as a field the bot lacks rather than misread as a near one.
UPCOMING_FIELDS = {
    "finance-accounting": "finance and accounting",
    "supply-chain": "supply chain and operations",
    "quality-improvement": "quality and process improvement",
    "healthcare-it": "healthcare IT",
    "software-testing": "software testing",
    "enterprise-platforms": "enterprise platforms such as SAP, ServiceNow or Workday",
    "teaching-training": "teaching and training",
    "technical-writing": "technical writing",
    "data-privacy": "data privacy",
}
FIELD_LABELS = (*(d.value for d in Domain), *UPCOMING_FIELDS)
NO_FIELD = "none"  # the primary-field label of a message that names no field


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class MessageFacets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level | None = None
    budget: Budget | None = None
    hours_per_week: float | None = Field(default=None, gt=0, le=80)
    providers: list[str] = Field(default_factory=list)
    credentials: list[str] = Field(default_factory=list)
    current_role: str | None = None
    target_role: str | None = None


class LabelledMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    lang: str = Field(default="en", pattern=r"^[a-z]{2}$")
    intent: MessageIntent
    fields: list[str] = Field(default_factory=list, max_length=2)
    facets: MessageFacets = Field(default_factory=MessageFacets)
    persona: str = ""

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in FIELD_LABELS]
        if unknown:
            raise ValueError(f"unknown field label(s) {unknown}; known: {', '.join(FIELD_LABELS)}")
        if len(set(fields)) != len(fields):
            raise ValueError("a field is listed twice")
        return fields

    @property
    def primary_field(self) -> str:
        return self.fields[0] if self.fields else NO_FIELD


class CorpusError(ValueError):
    """The corpus cannot be used; `problems` says where and why, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the labelled corpus:\n" + "\n".join(problems))
        self.problems = list(problems)


def normalized(text: str) -> str:
    """A message as duplicates are judged: case, punctuation and spacing do not make a new message."""
    words = re.sub(r"[^\w\s]", "", text.lower()).split()
    return " ".join(words) or text.strip()


def load_messages(path: Path) -> list[LabelledMessage]:
    """One JSONL file of labelled messages; CorpusError naming each bad line."""
    problems: list[str] = []
    messages: list[LabelledMessage] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages.append(LabelledMessage.model_validate(json.loads(line)))
        except json.JSONDecodeError as problem:
            problems.append(f"{path.name}:{number}: not JSON ({problem.msg})")
        except ValidationError as problem:
            for error in problem.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(f"{path.name}:{number}: {where}: {error['msg']}")
    if problems:
        raise CorpusError(problems)
    return messages


def duplicate_problems(named_sets: Iterable[tuple[str, Sequence[LabelledMessage]]]) -> list[str]:
    """Messages that appear twice, within a file or across files (a test message in train, above all)."""
    seen: dict[str, str] = {}
    problems: list[str] = []
    for name, messages in named_sets:
        for message in messages:
            key = normalized(message.text)
            if key in seen:
                problems.append(f"{name}: {message.text!r} duplicates a message in {seen[key]}")
            else:
                seen[key] = name
    return problems


class Corpus(BaseModel):
    """The training and validation messages, checked together."""

    train: list[LabelledMessage]
    validation: list[LabelledMessage]

    @classmethod
    def load(cls, knowledge_dir: Path) -> Corpus:
        folder = knowledge_dir / CORPUS_DIR
        problems: list[str] = []
        parts: dict[str, list[LabelledMessage]] = {}
        for name in (TRAIN_FILE, VALIDATION_FILE):
            try:
                parts[name] = load_messages(folder / name)
            except FileNotFoundError:
                problems.append(f"{CORPUS_DIR}/{name}: missing")
            except CorpusError as error:
                problems.extend(error.problems)
        if problems:
            raise CorpusError(problems)
        problems = duplicate_problems(parts.items())
        if problems:
            raise CorpusError(problems)
        return cls(train=parts[TRAIN_FILE], validation=parts[VALIDATION_FILE])

    @classmethod
    def load_if_present(cls, knowledge_dir: Path) -> Corpus | None:
        """The corpus, or None for a knowledge base without one (questions are then read by rules only)."""
        if not (knowledge_dir / CORPUS_DIR).exists():
            return None
        return cls.load(knowledge_dir)

    def digest(self) -> str:
        """Changes whenever a message or a label changes: the key of a trained classifier."""
        payload = json.dumps([m.model_dump(mode="json") for m in self.train], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
