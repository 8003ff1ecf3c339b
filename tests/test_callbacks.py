"""The callback data of inline buttons: one wire format, read back exactly, stale or forged data refused."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import get_args

import pytest

from bot.advisor.catalog import Catalog
from bot.advisor.models import Level, Profile
from bot.dialog.callbacks import (
    QUESTIONNAIRE_PATTERN,
    Action,
    AdminBroadcast,
    CheckIn,
    CheckInAnswer,
    ChooseField,
    ConfirmForget,
    ConfirmNewPlan,
    EditProfile,
    MarkStep,
    NudgeCommand,
    NudgeDay,
    NudgeTime,
    NudgeWord,
    QuestionnaireAnswer,
    ShowRoadmap,
    decode,
    encode,
)
from bot.dialog.nudge_views import nudges_view
from bot.dialog.onboarding import SKIP, reply_for
from bot.dialog.questionnaire import ASK, EDIT, Step
from bot.dialog.replies import MAX_BUTTON_DATA, Reply
from bot.dialog.views import plan_view, profile_view, progress_view
from bot.nudges.content import compose_nudge
from bot.planner.builder import build_plan
from bot.planner.models import LearningPlan, StepStatus
from bot.prompts import Texts
from bot.store.nudges import NudgeSettings
from ingest.schema import Domain
from tests.conftest import REAL_KNOWLEDGE
from tests.support.catalogs import catalog_of

TODAY = dt.date(2026, 3, 2)

# The strings buttons already in users' chats carry: they must keep meaning the same action.
WIRE_FORMAT: list[tuple[Action, str]] = [
    (MarkStep(1, StepStatus.STARTED), "p:1:started"),
    (MarkStep(12, StepStatus.COMPLETED), "p:12:completed"),
    (MarkStep(3, StepStatus.SKIPPED), "p:3:skipped"),
    (MarkStep(2, StepStatus.TODO), "p:2:todo"),
    (ConfirmNewPlan(yes=True), "n:yes"),
    (ConfirmNewPlan(yes=False), "n:no"),
    (ShowRoadmap(), "r:map"),
    (CheckIn(CheckInAnswer.DONE, 4), "k:done:4"),
    (CheckIn(CheckInAnswer.WORKING), "k:working"),
    (CheckIn(CheckInAnswer.SKIP), "k:skip"),
    (CheckIn(CheckInAnswer.STOP), "k:stop"),
    (CheckIn(CheckInAnswer.PLAN), "k:plan"),
    (NudgeCommand(NudgeWord.ON), "g:on"),
    (NudgeCommand(NudgeWord.OFF), "g:off"),
    (NudgeCommand(NudgeWord.SNOOZE), "g:snooze"),
    (NudgeDay(0), "g:d:0"),
    (NudgeDay(6), "g:d:6"),
    (NudgeTime(dt.time(8, 0)), "g:t:0800"),
    (NudgeTime(dt.time(20, 0)), "g:t:2000"),
    (NudgeTime(dt.time(12, 30)), "g:t:1230"),
    (ConfirmForget(yes=True), "f:yes"),
    (ConfirmForget(yes=False), "f:no"),
    (EditProfile(Step.TARGET), "b:edit:target"),
    (EditProfile(Step.NUDGES), "b:edit:nudges"),
    (QuestionnaireAnswer(ASK, Step.TARGET, "data-analyst"), "b:ask:target:data-analyst"),
    (QuestionnaireAnswer(ASK, Step.ROLE, SKIP), "b:ask:role:-"),
    (QuestionnaireAnswer(EDIT, Step.HOURS, "5"), "b:edit:hours:5"),
    (QuestionnaireAnswer(ASK, Step.BUDGET, "none"), "b:ask:budget:none"),
    (AdminBroadcast(17, send=True), "a:bc:17:send"),
    (AdminBroadcast(17, send=False), "a:bc:17:no"),
    (ChooseField(Domain.DATA_ANALYTICS), "q:data-analytics"),
    (ChooseField(Domain.IT_SUPPORT), "q:it-support"),
]


@pytest.mark.parametrize(("action", "data"), WIRE_FORMAT, ids=[data for _, data in WIRE_FORMAT])
def test_every_action_keeps_its_wire_format_and_reads_back(action: Action, data: str) -> None:
    assert encode(action) == data
    assert decode(data) == action


def test_every_kind_of_action_is_in_the_wire_format_table() -> None:
    kinds = {type(action) for action, _ in WIRE_FORMAT}
    assert kinds == set(get_args(Action))


MALFORMED = [
    "",
    "zz",
    "p",
    "p:",
    ":",
    "x:yes",
    "p:1",
    "p:1:finished",
    "p:x:started",
    "p:-1:started",
    "p:²:started",  # a digit to str.isdigit(), not to int()
    "p:1:started:extra",
    "p:1234567890:started",  # longer than any position
    "n:maybe",
    "n:",
    "n:yes:no",
    "r:",
    "r:map:again",
    "k:done",
    "k:done:abc",
    "k:working:3",
    "k:dance",
    "g:",
    "g:maybe",
    "g:d:7",
    "g:d:99",
    "g:d:-1",
    "g:t:2500",
    "g:t:1260",
    "g:t:800",
    "g:t:12:30",
    "f:",
    "f:yes:no",
    "b:",
    "b:ask:nonsense:1",
    "b:later:role:student",
    "b:ask:role",  # only edit buttons come without a value
    "b:edit:role:",
    "b:ask:role:a:b",
    "a:bc:1:maybe",
    "a:xx:1:send",
    "a:bc:x:send",
    "a:bc:1",
    "P:1:started",
    " p:1:started",
    "p:1:started ",
    "\ud800:yes",  # a lone surrogate, as JSON can carry
    "b:ask:role:" + "x" * MAX_BUTTON_DATA,  # more than Telegram would ever carry
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_stale_and_oversized_data_is_no_action(data: str) -> None:
    assert decode(data) is None


def test_random_data_never_raises() -> None:
    rng = random.Random(20260302)
    alphabet = "pnrkgfba:0123456789-_edityesnomapdonesendbcé²\u0000\ud800"
    for _ in range(20_000):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        action = decode(data)
        if action is not None:
            assert decode(encode(action)) == action


def test_data_over_64_bytes_is_refused_when_encoding() -> None:
    prefix = "b:ask:target:"
    fits = QuestionnaireAnswer(ASK, Step.TARGET, "x" * (MAX_BUTTON_DATA - len(prefix)))
    assert len(encode(fits).encode()) == MAX_BUTTON_DATA
    with pytest.raises(ValueError, match="64 bytes"):
        encode(QuestionnaireAnswer(ASK, Step.TARGET, "x" * (MAX_BUTTON_DATA - len(prefix) + 1)))
    with pytest.raises(ValueError, match="64 bytes"):  # bytes, not characters
        encode(QuestionnaireAnswer(ASK, Step.TARGET, "é" * 30))


@pytest.mark.parametrize(
    "action",
    [
        QuestionnaireAnswer(ASK, Step.ROLE, "a:b"),
        QuestionnaireAnswer(ASK, Step.ROLE, ""),
        QuestionnaireAnswer("later", Step.ROLE, "student"),
        MarkStep(-1, StepStatus.STARTED),
        NudgeDay(7),
        NudgeTime(dt.time(8, 0, 30)),
        CheckIn(CheckInAnswer.DONE),
        CheckIn(CheckInAnswer.WORKING, 3),
    ],
)
def test_an_action_that_would_read_back_differently_is_refused_when_encoding(action: Action) -> None:
    with pytest.raises(ValueError, match="reads back differently"):
        encode(action)


def test_what_front_ends_ask_of_a_pressed_button() -> None:
    # confirmations, and choices under a question (not the /profile buttons that open one)
    removing = {"n:yes", "n:no", "f:yes", "f:no", "a:bc:17:send", "a:bc:17:no"}
    removing |= {"b:ask:target:data-analyst", "b:ask:role:-", "b:ask:budget:none", "b:edit:hours:5"}
    for action, data in WIRE_FORMAT:
        assert action.removes_buttons == (data in removing), data
        assert action.is_admin == isinstance(action, AdminBroadcast), data
        in_questionnaire = isinstance(action, EditProfile | QuestionnaireAnswer)
        assert bool(re.match(QUESTIONNAIRE_PATTERN, data)) == in_questionnaire, data


# -- every button the views produce decodes ------------------------------------------------------------------
@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_of(REAL_KNOWLEDGE)


@pytest.fixture(scope="module")
def plan(catalog: Catalog) -> LearningPlan:
    plan = build_plan(catalog, Profile(target_role="cloud engineer", hours_per_week=5), TODAY)
    assert len(plan.steps) >= 2
    return plan


def view_replies(catalog: Catalog, plan: LearningPlan) -> list[Reply]:
    first, second = plan.steps[0].credential_id, plan.steps[1].credential_id
    all_done = {s.credential_id: StepStatus.COMPLETED for s in plan.steps}
    profile = Profile(current_role="teacher", target_role="Cloud Engineer", level=Level.BEGINNER, hours_per_week=5)
    on = NudgeSettings(enabled=True, weekday=2, local_time=dt.time(7, 45), timezone="Europe/Berlin")
    texts = Texts.load()
    return [
        plan_view(plan, {}),
        plan_view(plan, {first: StepStatus.COMPLETED, second: StepStatus.STARTED}, heading="Here is your plan."),
        plan_view(plan, all_done),
        progress_view(plan, {first: StepStatus.SKIPPED}),
        progress_view(plan, all_done),
        profile_view(profile, on),
        profile_view(Profile(), None),
        nudges_view(on, dt.datetime(2026, 3, 4, 6, 45, tzinfo=dt.UTC)),
        nudges_view(NudgeSettings(), None, "Saved."),
        *(reply_for(step, catalog, mode) for step in Step for mode in (ASK, EDIT)),
        compose_nudge(texts, catalog, None, {}, None, "2026-W10").reply,
        compose_nudge(texts, catalog, plan, {}, None, "2026-W10").reply,
        compose_nudge(texts, catalog, plan, {first: StepStatus.STARTED}, None, "2026-W11").reply,
        compose_nudge(texts, catalog, plan, all_done, None, "2026-W12").reply,
    ]


def test_every_button_of_every_view_decodes_to_an_action(catalog: Catalog, plan: LearningPlan) -> None:
    replies = view_replies(catalog, plan)
    buttons = [button for reply in replies for button in reply.choices]
    assert len(buttons) > 60
    undecoded = [button.data for button in buttons if decode(button.data) is None]
    assert undecoded == []
    # every kind of button a view offers is among them
    kinds = {type(decode(button.data)) for button in buttons}
    assert kinds >= {MarkStep, ShowRoadmap, CheckIn, NudgeCommand, NudgeDay, NudgeTime, EditProfile}
    assert QuestionnaireAnswer in kinds


def test_questionnaire_buttons_answer_the_question_they_are_under(catalog: Catalog) -> None:
    for step in Step:
        for mode in (ASK, EDIT):
            actions = [decode(b.data) for b in reply_for(step, catalog, mode).choices]
            assert all(isinstance(a, QuestionnaireAnswer) and a.step is step and a.mode == mode for a in actions)
            assert QuestionnaireAnswer(mode, step, SKIP) in actions
