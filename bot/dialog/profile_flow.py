"""Walking a user through the questionnaire: /start, /cancel, /profile and its edit buttons, each answer.

Where the user is (`questionnaire` state) is stored per chat and user before they are told, so a restart
or another replica carries on from the same question. The questions themselves and how answers are read
are in `onboarding`.
"""

from __future__ import annotations

import asyncio
import re

from bot.advisor.amounts import budget_in
from bot.advisor.models import Intent, Profile
from bot.advisor.understanding import Understanding, role_named_in
from bot.dialog import onboarding as ob
from bot.dialog.deps import DialogDeps
from bot.dialog.nudge_choices import NudgeChoices
from bot.dialog.parsing import InputError
from bot.dialog.questionnaire import ASK, EDIT, ORDER, Step, next_step, parse_state, state_of
from bot.dialog.questions import MAX_TEXT_CHARS, Questions
from bot.dialog.replies import Reply, UserRef
from bot.dialog.views import plan_view, profile_view

ONBOARDING = "onboarding"  # the name under which questionnaire positions are stored

RepliesAndState = tuple[list[Reply], str | None]  # what to say, and the questionnaire state afterwards


class ProfileFlow:
    def __init__(self, deps: DialogDeps, questions: Questions, nudge_choices: NudgeChoices) -> None:
        self.deps = deps
        self.questions = questions  # a question typed mid-questionnaire is answered first
        self.nudge_choices = nudge_choices  # the last two steps are nudge settings

    async def state(self, user: UserRef) -> str | None:
        """Which question the user is answering in this chat, if any."""
        state = await self.deps.store.conversations.get(ONBOARDING, user.conversation_key)
        return state if isinstance(state, str) else None

    async def move_to(self, user: UserRef, state: str | None) -> str | None:
        """Record where the user is in the questionnaire before telling them (write-through)."""
        await self.deps.store.conversations.save(ONBOARDING, user.conversation_key, state)
        return state

    async def start(self, user: UserRef) -> RepliesAndState:
        """/start: the questionnaire for newcomers, where they left off if interrupted, else welcome back."""
        store, catalog = self.deps.store, self.deps.advisor.catalog
        await store.users.touch(user.user_id, user.chat_id)
        current = parse_state(await self.state(user))
        if current is not None and current[0] == ASK:
            step = current[1]
            reply = ob.reply_for(step, catalog, ASK, note="Welcome back! Let's pick up where we left off.")
            return [reply], await self.move_to(user, state_of(ASK, step))
        if await store.profiles.is_onboarded(user.user_id):
            replies = [Reply("Welcome back! Ask me anything, or use /plan, /progress and /profile.")]
            plan = await store.plans.active(user.user_id)
            if plan is not None:
                replies.append(plan_view(plan, await store.progress.all(user.user_id)))
            else:
                replies.append(Reply("You have no learning plan yet. Send /plan to make one."))
            return replies, await self.move_to(user, None)
        intro = Reply(self.deps.texts.welcome)
        first = ORDER[0]
        return [intro, ob.reply_for(first, catalog, ASK)], await self.move_to(user, state_of(ASK, first))

    async def edit(self, user: UserRef, step: Step) -> RepliesAndState:
        """A profile button: ask that one question again."""
        await self.deps.store.users.touch(user.user_id, user.chat_id)
        reply = ob.reply_for(step, self.deps.advisor.catalog, EDIT)
        return [reply], await self.move_to(user, state_of(EDIT, step))

    async def cancel(self, user: UserRef) -> list[Reply]:
        await self.move_to(user, None)
        return [Reply("OK, stopped. Your answers so far are saved; /start continues, /profile changes them.")]

    async def profile(self, user: UserRef) -> list[Reply]:
        """/profile: what the bot knows, with a button per field."""
        profile = await self.deps.store.profiles.get(user.user_id)
        if profile is None:
            return [Reply("I don't know anything about you yet. Send /start to set up your profile.")]
        return [profile_view(profile, await self.deps.store.nudges.get(user.user_id))]

    async def answer_step(self, user: UserRef, state: str, raw: str, *, from_button: bool) -> RepliesAndState:
        """One answer to the questionnaire (a button or typed text); returns the replies and the next state."""
        parsed = parse_state(state)
        if parsed is None:
            return [Reply("That question has expired. Send /start or /profile.")], await self.move_to(user, None)
        mode, step = parsed
        catalog = self.deps.advisor.catalog
        # A question or a remark typed in the middle of the questionnaire gets its answer, then the step is
        # asked again. Steps that take any text cannot tell those from an answer by parsing, so they look first.
        readable = not from_button and raw != ob.SKIP and len(raw) <= MAX_TEXT_CHARS
        reading = await asyncio.to_thread(self.deps.advisor.read, raw) if readable else None
        remark = reading is not None and reading.intent in _REMARKS and role_named_in(raw, catalog.vocabulary) is None
        asked = not from_button and (_is_question(raw) or remark)
        if asked and step in ob.FREE_TEXT_STEPS:
            return await self._answer_then_resume(user, raw, step, mode, state)
        if raw != ob.SKIP:
            if not from_button and len(raw) > MAX_TEXT_CHARS:
                return [ob.reply_for(step, catalog, mode, note="That is too long for an answer.")], state
            try:
                value = ob.read_answer(step, raw, catalog, self.deps.advisor.state.vocab, from_button=from_button)
            except InputError as problem:
                if asked:
                    return await self._answer_then_resume(user, raw, step, mode, state)
                return [ob.reply_for(step, catalog, mode, note=str(problem))], state
            await self._save_answer(user, step, value)
        # "I work in retail and want to become a data analyst" answers the next question too
        also = self._also_answered(raw, reading, step) if mode == ASK and reading is not None else {}
        for later, later_value in also.items():
            await self._save_answer(user, later, later_value)
        if mode == EDIT:
            await self.move_to(user, None)
            profile = await self.deps.store.profiles.get(user.user_id) or Profile()
            return [Reply("Saved."), profile_view(profile, await self.deps.store.nudges.get(user.user_id))], None
        following = next_step(step)
        while following is not None and following in also:
            following = next_step(following)
        if following is not None:
            note = f"Got that too: {_described(also)}." if also else ""
            reply = ob.reply_for(following, catalog, ASK, note=note)
            return [reply], await self.move_to(user, state_of(ASK, following))
        await self.deps.store.profiles.mark_onboarded(user.user_id)
        await self.move_to(user, None)
        return await self._first_advice(user), None

    def _also_answered(self, raw: str, reading: Understanding, step: Step) -> dict[Step, object]:
        """Answers to later questions that the same message gives (never to earlier ones, already answered)."""
        facets, catalog = reading.facets, self.deps.advisor.catalog
        found: dict[Step, object] = {}
        # a bare job title ("software developer") is the role asked for, not a target; a sentence that names
        # the current role and a goal ("I work in retail and want to become ...") gives both
        names_a_goal = step is not Step.ROLE or (
            facets.current_role is not None and reading.intent is Intent.CAREER_SWITCH
        )
        if names_a_goal and facets.target_occupation is not None:
            occupation = catalog.occupations[facets.target_occupation]
            found[Step.TARGET] = ob.Target(occupation.title, occupation.id, occupation.domains[0].value)
        elif names_a_goal and facets.domains:
            found[Step.TARGET] = ob.Target(facets.domains[0].value.replace("-", " "), None, facets.domains[0].value)
        if facets.level is not None:
            found[Step.LEVEL] = facets.level
        if facets.hours_per_week is not None:
            found[Step.HOURS] = facets.hours_per_week
        budget = budget_in(raw)
        if budget is not None and not budget.vague:  # "something cheap" is no answer to "what is your budget?"
            found[Step.BUDGET] = budget.usd
        if facets.providers:
            found[Step.PROVIDERS] = facets.providers
        return {s: v for s, v in found.items() if ORDER.index(s) > ORDER.index(step)}

    async def _answer_then_resume(
        self, user: UserRef, question: str, step: Step, mode: str, state: str
    ) -> RepliesAndState:
        replies = await self.questions.ask(user, question)
        return [*replies, ob.reply_for(step, self.deps.advisor.catalog, mode, note="Back to your profile:")], state

    async def _save_answer(self, user: UserRef, step: Step, value: object) -> None:
        profiles, uid = self.deps.store.profiles, user.user_id
        if step is Step.ROLE:
            await profiles.update(uid, current_role=value)
        elif step is Step.TARGET:
            assert isinstance(value, ob.Target)
            await profiles.update(uid, target_role=value.label, target_domain=value.domain)
        elif step is Step.LEVEL:
            await profiles.update(uid, level=value)
        elif step is Step.HOURS:
            await profiles.update(uid, hours_per_week=value)
        elif step is Step.BUDGET:
            await profiles.update(uid, budget_usd=value)
        elif step is Step.PROVIDERS:
            await profiles.update(uid, preferred_providers=value)
        elif step is Step.TIMEZONE:
            await self.nudge_choices.change(uid, timezone=value)
        elif step is Step.NUDGES:
            await self.nudge_choices.change(uid, enabled=bool(value))

    async def _first_advice(self, user: UserRef) -> list[Reply]:
        profile = await self.deps.store.profiles.get(user.user_id) or Profile()
        done = Reply("Thanks, your profile is saved. /profile shows it; /plan makes a week-by-week plan.")
        if profile.target_role and profile.current_role:
            question = f"I am a {profile.current_role} and want to become a {profile.target_role}"
        elif profile.target_role:
            question = f"Which certification should I start with to work in {profile.target_role}?"
        else:
            return [done, Reply('Ask me anything, e.g. "which cert for cloud?".')]
        answer = await self.deps.advisor.aanswer(question, profile, ())
        await self.deps.store.turns.add(user.chat_id, user.user_id, answer.as_turn())
        return [done, Reply(answer.text, answer=answer)]


# Readings of a typed message that are not an answer to a profile question, whatever the question.
# Out of scope is left out: a bare job title ("barista") reads as one, and it is the answer asked for.
_REMARKS = frozenset({Intent.SMALLTALK, Intent.ABOUT_BOT, Intent.CANNOT_DO})
_STEP_NAMES = {
    Step.TARGET: "your target",
    Step.LEVEL: "your level",
    Step.HOURS: "your weekly hours",
    Step.BUDGET: "your budget",
    Step.PROVIDERS: "the providers you like",
}


def _described(answers: dict[Step, object]) -> str:
    return ", ".join(_STEP_NAMES.get(step, step.value) for step in answers)


_QUESTION_START = re.compile(
    r"^(what|which|how|why|when|where|who|can|could|should|would|is|are|do|does|tell me|compare|recommend)\b", re.I
)


def _is_question(text: str) -> bool:
    text = text.strip()
    return text.endswith("?") or bool(_QUESTION_START.match(text))
