"""A pressed button, decoded by `callbacks`, handed to the feature that acts on it."""

from __future__ import annotations

from bot.dialog.callbacks import (
    EXPIRED,
    Action,
    CheckIn,
    ChooseField,
    ConfirmForget,
    ConfirmNewPlan,
    EditProfile,
    MarkStep,
    NudgeCommand,
    NudgeDay,
    NudgeTime,
    QuestionnaireAnswer,
    ShowRoadmap,
)
from bot.dialog.forgetting import Forgetting
from bot.dialog.nudge_choices import NudgeChoices
from bot.dialog.nudge_views import DAY_NAMES
from bot.dialog.plans import Plans
from bot.dialog.profile_flow import ProfileFlow, RepliesAndState
from bot.dialog.questions import Questions
from bot.dialog.replies import Reply, UserRef


class Buttons:
    def __init__(
        self,
        profile_flow: ProfileFlow,
        plans: Plans,
        nudge_choices: NudgeChoices,
        forgetting: Forgetting,
        questions: Questions,
    ) -> None:
        self.profile_flow = profile_flow
        self.questions = questions
        self.plans = plans
        self.nudge_choices = nudge_choices
        self.forgetting = forgetting

    async def press(self, user: UserRef, action: Action | None, state: str | None) -> RepliesAndState:
        """A button press (None: data no current button carries), in questionnaire state `state`.

        Returns the replies and the questionnaire state afterwards.
        """
        match action:
            case MarkStep(position, status):
                return await self.plans.mark(user, position, status), state
            case ConfirmNewPlan(yes):
                return await self.plans.confirm_new_plan(user, yes), state
            case ShowRoadmap():
                return await self.plans.roadmap(user), state
            case CheckIn(answer, position):
                return await self.nudge_choices.checkin(user, answer, position), state
            case NudgeCommand(word):
                return await self.nudge_choices.nudges(user, word.value), state
            case NudgeDay(weekday):
                return await self.nudge_choices.nudges(user, DAY_NAMES[weekday]), state
            case NudgeTime(at):
                return await self.nudge_choices.nudges(user, f"{at:%H:%M}"), state
            case ConfirmForget(yes):
                return await self.forgetting.confirm_forget(user, yes), (None if yes else state)
            case EditProfile(step):
                return await self.profile_flow.edit(user, step)
            case QuestionnaireAnswer() as answer if answer.state != state:
                return [Reply("That question has already been answered. /profile changes your answers.")], state
            case QuestionnaireAnswer() as answer:
                return await self.profile_flow.answer_step(user, answer.state, answer.value, from_button=True)
            case ChooseField(field):
                return await self.questions.in_field(user, field), state
        # None, and admin buttons, which only the admin desk answers
        return [Reply(EXPIRED)], state
