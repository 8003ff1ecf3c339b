"""The onboarding questionnaire's questions, their buttons, and how answers are read.

Pure data and parsing; `profile_flow.ProfileFlow` stores the answers and moves from step to step (the
steps themselves are in `questionnaire`), so that the Telegram bot and the terminal chat ask exactly the
same questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.advisor.catalog import Catalog
from bot.advisor.matching import find_target, providers_named_in
from bot.advisor.understanding import role_named_in
from bot.advisor.vocabulary import Vocabulary, match_form
from bot.dialog.callbacks import QuestionnaireAnswer, encode
from bot.dialog.parsing import (
    InputError,
    parse_budget,
    parse_free_text,
    parse_hours,
    parse_level,
    parse_timezone,
    parse_yes_no,
)
from bot.dialog.questionnaire import ASK, ORDER, Step
from bot.dialog.replies import Button, Reply

SKIP = "-"  # button value meaning "skip this question"

# Steps whose answer is any text: a question typed there cannot be told apart by parsing.
FREE_TEXT_STEPS = frozenset({Step.ROLE, Step.TARGET})


PROVIDER_LABELS = {
    "amazon": "AWS",
    "microsoft": "Microsoft",
    "google": "Google",
    "cisco": "Cisco",
    "comptia": "CompTIA",
    "any": "No preference",
}


@dataclass(frozen=True)
class Target:
    label: str
    occupation_id: str | None
    domain: str | None


@dataclass(frozen=True)
class Question:
    text: str
    choices: list[tuple[str, str]]  # (label, value); SKIP is added by `reply`


def question_for(step: Step, catalog: Catalog, position: int | None = None) -> Question:
    count = f"({position}/{len(ORDER)}) " if position else ""
    if step is Step.ROLE:
        return Question(
            f"{count}What do you do now? Type your current role or situation "
            '(e.g. "marketing coordinator", "student", "between jobs").',
            [("Student", "student"), ("Between jobs", "between jobs")],
        )
    if step is Step.TARGET:
        popular = ["data-analyst", "cloud-engineer", "cybersecurity-analyst", "software-developer", "project-manager"]
        choices = [(catalog.occupations[o].title, o) for o in popular if o in catalog.occupations]
        return Question(f"{count}Which role or field do you want to reach? Pick one or type it.", choices)
    if step is Step.LEVEL:
        return Question(
            f"{count}How much experience do you have in that field?",
            [("Beginner", "beginner"), ("Intermediate", "intermediate"), ("Advanced", "advanced")],
        )
    if step is Step.HOURS:
        return Question(
            f"{count}How many hours a week can you study? Pick one or type a number.",
            [("2", "2"), ("5", "5"), ("10", "10"), ("15", "15"), ("20+", "20")],
        )
    if step is Step.BUDGET:
        return Question(
            f"{count}What can you spend on courses and exams, in US dollars? Pick one or type an amount.",
            [
                ("Free only", "0"),
                ("Up to $200", "200"),
                ("Up to $500", "500"),
                ("Up to $1,500", "1500"),
                ("No limit", "none"),
            ],
        )
    if step is Step.PROVIDERS:
        return Question(
            f'{count}Any provider you prefer? Pick one or type several (e.g. "AWS and Google").',
            list((label, key) for key, label in PROVIDER_LABELS.items()),
        )
    if step is Step.TIMEZONE:
        return Question(
            f'{count}Which time zone are you in? Type a city (e.g. "Berlin") or an offset like UTC+2.',
            [("UTC", "UTC")],
        )
    return Question(
        f"{count}Would you like a short weekly nudge with your next step? You can change this any time with /nudges.",
        [("Yes please", "yes"), ("No thanks", "no")],
    )


def reply_for(step: Step, catalog: Catalog, mode: str, note: str = "") -> Reply:
    position = ORDER.index(step) + 1 if mode == ASK else None
    question = question_for(step, catalog, position)
    buttons = [Button(label, encode(QuestionnaireAnswer(mode, step, value))) for label, value in question.choices]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([Button("Skip", encode(QuestionnaireAnswer(mode, step, SKIP)))])
    text = f"{note}\n\n{question.text}" if note else question.text
    return Reply(text, rows)


# --- reading answers --------------------------------------------------------------------------
Answer = object  # what a step's answer becomes: str, float, list[str], bool, Target or None


def read_answer(step: Step, raw: str, catalog: Catalog, vocab: Vocabulary, *, from_button: bool) -> Answer:
    """The value of one answer; raises InputError with a message on text that cannot be read."""
    reader: dict[Step, Callable[[str], Answer]] = {
        # "I work as a bank teller" is stored as the role it names, "bank teller"
        Step.ROLE: lambda t: role_named_in(t, vocab) or parse_free_text(t, what="current role"),
        Step.TARGET: lambda t: _read_target(t, catalog, vocab, from_button),
        Step.LEVEL: parse_level,
        Step.HOURS: parse_hours,
        Step.BUDGET: lambda t: None if t == "none" else parse_budget(t),
        Step.PROVIDERS: lambda t: _read_providers(t, vocab),
        Step.TIMEZONE: parse_timezone,
        Step.NUDGES: parse_yes_no,
    }
    return reader[step](raw)


def _read_target(text: str, catalog: Catalog, vocab: Vocabulary, from_button: bool) -> Target:
    if from_button and text in catalog.occupations:
        occ = catalog.occupations[text]
        return Target(occ.title, occ.id, occ.domains[0].value)
    label = parse_free_text(text, what="target role or field")
    occupation_id, domain = find_target(label, catalog, vocab)
    if occupation_id:
        occ = catalog.occupations[occupation_id]
        return Target(occ.title, occ.id, occ.domains[0].value)
    if domain:
        return Target(label, None, domain.value)
    raise InputError(
        "I don't have that role in my knowledge yet. Try a role like data analyst, cloud engineer, "
        "UX designer or project manager, or a field like cybersecurity."
    )


def _read_providers(text: str, vocab: Vocabulary) -> list[str]:
    if text == "any" or match_form(text).strip() in ("any", "no preference", "none", "no"):
        return []
    if text in PROVIDER_LABELS:
        return [text]
    found = providers_named_in(text, vocab)
    if not found:
        raise InputError(
            'I don\'t know that provider. Try names like AWS, Microsoft, Google, Cisco or CompTIA, or "any".'
        )
    return found
