"""The questionnaire's steps in order, and the state string that records which one a user is on.

The state ("ask:hours", "edit:budget") is stored per chat and user and also travels inside the
questionnaire's buttons, so it is defined here, below both `onboarding` (the questions and how
answers are read) and `callbacks` (the buttons' data).
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    ROLE = "role"
    TARGET = "target"
    LEVEL = "level"
    HOURS = "hours"
    BUDGET = "budget"
    PROVIDERS = "providers"
    TIMEZONE = "timezone"
    NUDGES = "nudges"


ORDER = list(Step)

# Onboarding walks every step; an edit from /profile asks one step and stops.
ASK = "ask"
EDIT = "edit"
MODES = (ASK, EDIT)


def state_of(mode: str, step: Step) -> str:
    return f"{mode}:{step.value}"


def parse_state(state: object) -> tuple[str, Step] | None:
    if not isinstance(state, str) or ":" not in state:
        return None
    mode, _, name = state.partition(":")
    if mode not in MODES or name not in Step._value2member_map_:
        return None
    return mode, Step(name)


def next_step(step: Step) -> Step | None:
    index = ORDER.index(step) + 1
    return ORDER[index] if index < len(ORDER) else None
