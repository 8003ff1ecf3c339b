"""What each inline button does: one small class per action, and the callback data that carries it.

Telegram hands a button's data back exactly as it was sent, maybe from a message sent months ago, maybe
forged by a crafted client. So the format below never changes once buttons carry it, every string fits
Telegram's 64 bytes, and `decode` answers None (never an exception) for anything it does not recognise.

    p:<position>:<status>              MarkStep              a plan step started, completed or skipped
    n:yes | n:no                       ConfirmNewPlan        replace a plan that already has progress?
    r:map                              ShowRoadmap           the plan as a picture
    k:done:<position>                  CheckIn               the buttons under a weekly nudge
    k:working | k:skip | k:stop | k:plan
    g:on | g:off | g:snooze            NudgeCommand          the /nudges screen
    g:d:<0-6>                          NudgeDay              0 is Monday
    g:t:<HHMM>                         NudgeTime
    f:yes | f:no                       ConfirmForget         delete everything stored about the user?
    b:edit:<step>                      EditProfile           ask one questionnaire question again
    b:<ask|edit>:<step>:<value>        QuestionnaireAnswer   a choice under a questionnaire question
    a:bc:<draft>:send | a:bc:<draft>:no  AdminBroadcast      send or cancel a drafted broadcast
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from bot.dialog.questionnaire import EDIT, MODES, Step, state_of
from bot.dialog.replies import MAX_BUTTON_DATA
from bot.planner.models import StepStatus
from ingest.schema import Domain

EXPIRED = "That button has expired. Send /help to see what I can do."
# The questionnaire's buttons (EditProfile, QuestionnaireAnswer) are the ones whose data matches this.
QUESTIONNAIRE_PATTERN = r"^b:"

_MAX_DIGITS = 9  # no plan position or draft id is longer; longer numbers would only strain database integers


class _Action:
    """What a front end asks of a pressed button, instead of looking at its data."""

    @property
    def removes_buttons(self) -> bool:
        """Whether the buttons of the pressed message are spent once the press has done its work.

        A confirmation is spent once answered, and so is a choice under a question once the question
        is answered; the /profile buttons that open a question stay, for changing another answer.
        """
        return False

    @property
    def is_admin(self) -> bool:
        """Handled by the admin desk, which checks who pressed it."""
        return False


@dataclass(frozen=True)
class MarkStep(_Action):
    position: int
    status: StepStatus


@dataclass(frozen=True)
class ConfirmNewPlan(_Action):
    yes: bool

    @property
    def removes_buttons(self) -> bool:
        return True


@dataclass(frozen=True)
class ShowRoadmap(_Action):
    pass


class CheckInAnswer(StrEnum):
    DONE = "done"  # the only answer that names a plan step
    WORKING = "working"
    SKIP = "skip"
    STOP = "stop"
    PLAN = "plan"


@dataclass(frozen=True)
class CheckIn(_Action):
    answer: CheckInAnswer
    position: int | None = None


class NudgeWord(StrEnum):
    ON = "on"
    OFF = "off"
    SNOOZE = "snooze"


@dataclass(frozen=True)
class NudgeCommand(_Action):
    word: NudgeWord


@dataclass(frozen=True)
class NudgeDay(_Action):
    weekday: int  # 0 is Monday


@dataclass(frozen=True)
class NudgeTime(_Action):
    at: dt.time  # whole minutes


@dataclass(frozen=True)
class ConfirmForget(_Action):
    yes: bool

    @property
    def removes_buttons(self) -> bool:
        return True


@dataclass(frozen=True)
class EditProfile(_Action):
    step: Step


@dataclass(frozen=True)
class QuestionnaireAnswer(_Action):
    mode: str  # ASK or EDIT
    step: Step
    value: str  # the choice, as `onboarding.read_answer` reads it; never empty, no ":"

    @property
    def state(self) -> str:
        """The questionnaire state this button answers; it counts only while the user is still there."""
        return state_of(self.mode, self.step)

    @property
    def removes_buttons(self) -> bool:
        return True  # answered, in the questionnaire or from /profile: the choices would only mislead


@dataclass(frozen=True)
class AdminBroadcast(_Action):
    draft: int
    send: bool  # False cancels the draft

    @property
    def removes_buttons(self) -> bool:
        return True

    @property
    def is_admin(self) -> bool:
        return True


@dataclass(frozen=True)
class ChooseField(_Action):
    """The field meant by a question that named none ("which cert should I take?" -> cloud)."""

    field: Domain


Action = (
    MarkStep
    | ConfirmNewPlan
    | ShowRoadmap
    | CheckIn
    | NudgeCommand
    | NudgeDay
    | NudgeTime
    | ConfirmForget
    | EditProfile
    | QuestionnaireAnswer
    | AdminBroadcast
    | ChooseField
)


def encode(action: Action) -> str:
    """The callback data of a button that does `action`.

    Raises ValueError for an action no button can carry: over 64 bytes, or not read back as itself
    (a value with ":" in it, a step position below zero, a time with seconds).
    """
    data = _write(action)
    if len(data.encode()) > MAX_BUTTON_DATA:
        raise ValueError(f"callback data over {MAX_BUTTON_DATA} bytes: {data!r}")
    if decode(data) != action:
        raise ValueError(f"no button can carry {action!r}: {data!r} reads back differently")
    return data


def _write(action: Action) -> str:
    match action:
        case MarkStep(position, status):
            return f"p:{position}:{status.value}"
        case ConfirmNewPlan(yes):
            return f"n:{_yes_no(yes)}"
        case ShowRoadmap():
            return "r:map"
        case CheckIn(answer, None):
            return f"k:{answer.value}"
        case CheckIn(answer, position):
            return f"k:{answer.value}:{position}"
        case NudgeCommand(word):
            return f"g:{word.value}"
        case NudgeDay(weekday):
            return f"g:d:{weekday}"
        case NudgeTime(at):
            return f"g:t:{at:%H%M}"
        case ConfirmForget(yes):
            return f"f:{_yes_no(yes)}"
        case EditProfile(step):
            return f"b:{state_of(EDIT, step)}"
        case QuestionnaireAnswer(mode, step, value):
            return f"b:{state_of(mode, step)}:{value}"
        case AdminBroadcast(draft, send):
            return f"a:bc:{draft}:{'send' if send else 'no'}"
        case ChooseField(field):
            return f"q:{field.value}"
        case _:
            assert_never(action)


def decode(data: str) -> Action | None:
    """The action a button's data stands for; None for data no current button carries."""
    if len(data.encode("utf-8", "surrogatepass")) > MAX_BUTTON_DATA:
        return None
    kind, colon, rest = data.partition(":")
    if not colon:
        return None
    match kind, rest.split(":"):
        case "p", [position, status] if _is_number(position) and status in _STATUSES:
            return MarkStep(int(position), StepStatus(status))
        case "n", ["yes" | "no" as answer]:
            return ConfirmNewPlan(yes=answer == "yes")
        case "r", ["map"]:
            return ShowRoadmap()
        case "k", ["done", position] if _is_number(position):
            return CheckIn(CheckInAnswer.DONE, int(position))
        case "k", [answer] if answer in _ANSWERS_WITHOUT_POSITION:
            return CheckIn(CheckInAnswer(answer))
        case "g", [word] if word in _NUDGE_WORDS:
            return NudgeCommand(NudgeWord(word))
        case "g", ["d", day] if day in _WEEKDAYS:
            return NudgeDay(int(day))
        case "g", ["t", hhmm]:
            at = _time(hhmm)
            return NudgeTime(at) if at is not None else None
        case "f", ["yes" | "no" as answer]:
            return ConfirmForget(yes=answer == "yes")
        case "b", ["edit", name] if name in _STEPS:
            return EditProfile(Step(name))
        case "b", [mode, name, value] if mode in MODES and name in _STEPS and value:
            return QuestionnaireAnswer(mode, Step(name), value)
        case "a", ["bc", draft, "send" | "no" as choice] if _is_number(draft):
            return AdminBroadcast(int(draft), send=choice == "send")
        case "q", [field] if field in _FIELDS:
            return ChooseField(Domain(field))
    return None


_STATUSES = frozenset(s.value for s in StepStatus)
_ANSWERS_WITHOUT_POSITION = frozenset(a.value for a in CheckInAnswer if a is not CheckInAnswer.DONE)
_NUDGE_WORDS = frozenset(w.value for w in NudgeWord)
_WEEKDAYS = frozenset(str(day) for day in range(7))
_STEPS = frozenset(s.value for s in Step)
_FIELDS = frozenset(d.value for d in Domain)


def _yes_no(yes: bool) -> str:
    return "yes" if yes else "no"


def _is_number(text: str) -> bool:
    # ASCII only: str.isdigit() also accepts digits such as "²" that int() refuses
    return text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS


def _time(hhmm: str) -> dt.time | None:
    if len(hhmm) != 4 or not _is_number(hhmm):
        return None
    hour, minute = int(hhmm[:2]), int(hhmm[2:])
    return dt.time(hour, minute) if hour < 24 and minute < 60 else None
