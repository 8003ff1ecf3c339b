"""Everything a user can do with the bot, independent of Telegram or the terminal.

Front ends turn an update or a typed line into one call here and show the replies; the store
keeps the answers, so a restart (or switching front end) loses nothing already confirmed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable

from bot.advisor import Advisor
from bot.advisor.models import Answer, Intent, Profile
from bot.charts import ChartCache
from bot.dialog import onboarding as ob
from bot.dialog.nudge_views import DAY_NAMES, nudges_view, parse_day, parse_time
from bot.dialog.parsing import InputError
from bot.dialog.replies import Button, Reply, UserRef
from bot.dialog.views import plan_view, profile_view, progress_view
from bot.llm.answerer import LLMAnswerer, OnText
from bot.llm.prompts import LLM_INTENTS
from bot.nudges.schedule import Clock, next_due, system_clock
from bot.planner.builder import PlanUnavailable, build_plan
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from bot.planner.progress import plan_progress
from bot.prompts import Texts
from bot.store import Store
from bot.store.nudges import NudgeSettings

logger = logging.getLogger(__name__)

ONBOARDING = "onboarding"  # the name under which questionnaire positions are stored
MAX_TEXT_CHARS = 2000
HISTORY_TURNS = 6
NUDGES_NEED_A_PRIVATE_CHAT = (
    "Nudges come only in a private chat with me, never in a group: open a chat with me and send /start there."
)

UserHook = Callable[[int], Awaitable[None]]  # called with a user id after their data changed


class Assistant:
    def __init__(
        self,
        store: Store,
        advisor: Advisor,
        texts: Texts,
        *,
        clock: Clock = system_clock,
        on_forget: UserHook | None = None,
        on_nudges_changed: UserHook | None = None,
        llm: LLMAnswerer | None = None,
        llm_daily_requests: int = 0,
    ) -> None:
        self.store = store
        self.advisor = advisor
        self.texts = texts
        self.clock = clock
        self.on_forget = on_forget
        self.on_nudges_changed = on_nudges_changed
        self.llm = llm
        self.llm_daily_requests = llm_daily_requests
        self.charts = ChartCache()

    def today(self) -> dt.date:
        return self.clock().date()

    # -- onboarding ------------------------------------------------------------------------
    async def onboarding_state(self, user: UserRef) -> str | None:
        state = await self.store.conversations.get(ONBOARDING, user.conversation_key)
        return state if isinstance(state, str) else None

    async def _goto(self, user: UserRef, state: str | None) -> str | None:
        """Record where the user is in the questionnaire before telling them (write-through)."""
        await self.store.conversations.save(ONBOARDING, user.conversation_key, state)
        return state

    async def start(self, user: UserRef) -> tuple[list[Reply], str | None]:
        """/start: the questionnaire for newcomers, where they left off if interrupted, else welcome back."""
        await self.store.users.touch(user.user_id, user.chat_id)
        current = ob.parse_state(await self.onboarding_state(user))
        catalog = self.advisor.catalog
        if current is not None and current[0] == ob.ASK:
            step = current[1]
            reply = ob.reply_for(step, catalog, ob.ASK, note="Welcome back! Let's pick up where we left off.")
            return [reply], await self._goto(user, ob.state_of(ob.ASK, step))
        if await self.store.profiles.is_onboarded(user.user_id):
            replies = [Reply("Welcome back! Ask me anything, or use /plan, /progress and /profile.")]
            plan = await self.store.plans.active(user.user_id)
            if plan is not None:
                replies.append(plan_view(plan, await self.store.progress.all(user.user_id)))
            else:
                replies.append(Reply("You have no learning plan yet. Send /plan to make one."))
            return replies, await self._goto(user, None)
        intro = Reply(self.texts.welcome)
        first = ob.ORDER[0]
        return [intro, ob.reply_for(first, catalog, ob.ASK)], await self._goto(user, ob.state_of(ob.ASK, first))

    async def edit(self, user: UserRef, step: ob.Step) -> tuple[list[Reply], str | None]:
        """A profile button: ask that one question again."""
        await self.store.users.touch(user.user_id, user.chat_id)
        return [ob.reply_for(step, self.advisor.catalog, ob.EDIT)], await self._goto(user, ob.state_of(ob.EDIT, step))

    async def cancel(self, user: UserRef) -> list[Reply]:
        await self._goto(user, None)
        return [Reply("OK, stopped. Your answers so far are saved; /start continues, /profile changes them.")]

    async def answer_step(
        self, user: UserRef, state: str, raw: str, *, from_button: bool
    ) -> tuple[list[Reply], str | None]:
        """One answer to the questionnaire (a button or typed text); returns the replies and the next state."""
        parsed = ob.parse_state(state)
        if parsed is None:
            return [Reply("That question has expired. Send /start or /profile.")], await self._goto(user, None)
        mode, step = parsed
        catalog = self.advisor.catalog
        # A question typed in the middle of the questionnaire gets its answer, then the step is asked again.
        # Steps that take any text cannot tell a question from an answer by parsing, so they look first.
        asked = not from_button and _is_question(raw)
        if asked and step in ob.FREE_TEXT_STEPS:
            return await self._answer_then_resume(user, raw, step, mode, state)
        if raw != ob.SKIP:
            if not from_button and len(raw) > MAX_TEXT_CHARS:
                return [ob.reply_for(step, catalog, mode, note="That is too long for an answer.")], state
            try:
                value = ob.read_answer(step, raw, catalog, self.advisor.state.vocab, from_button=from_button)
            except InputError as problem:
                if asked:
                    return await self._answer_then_resume(user, raw, step, mode, state)
                return [ob.reply_for(step, catalog, mode, note=str(problem))], state
            await self._save_answer(user, step, value)
        if mode == ob.EDIT:
            await self._goto(user, None)
            profile = await self.store.profiles.get(user.user_id) or Profile()
            return [Reply("Saved."), profile_view(profile, await self.store.nudges.get(user.user_id))], None
        following = ob.next_step(step)
        if following is not None:
            return [ob.reply_for(following, catalog, ob.ASK)], await self._goto(user, ob.state_of(ob.ASK, following))
        await self.store.profiles.mark_onboarded(user.user_id)
        await self._goto(user, None)
        return await self._first_advice(user), None

    async def _answer_then_resume(
        self, user: UserRef, question: str, step: ob.Step, mode: str, state: str
    ) -> tuple[list[Reply], str | None]:
        replies = await self.ask(user, question)
        return [*replies, ob.reply_for(step, self.advisor.catalog, mode, note="Back to your profile:")], state

    async def _save_answer(self, user: UserRef, step: ob.Step, value: object) -> None:
        uid = user.user_id
        if step is ob.Step.ROLE:
            await self.store.profiles.update(uid, current_role=value)
        elif step is ob.Step.TARGET:
            assert isinstance(value, ob.Target)
            await self.store.profiles.update(uid, target_role=value.label, target_domain=value.domain)
        elif step is ob.Step.LEVEL:
            await self.store.profiles.update(uid, level=value)
        elif step is ob.Step.HOURS:
            await self.store.profiles.update(uid, hours_per_week=value)
        elif step is ob.Step.BUDGET:
            await self.store.profiles.update(uid, budget_usd=value)
        elif step is ob.Step.PROVIDERS:
            await self.store.profiles.update(uid, preferred_providers=value)
        elif step is ob.Step.TIMEZONE:
            await self._change_nudges(uid, timezone=value)
        elif step is ob.Step.NUDGES:
            await self._change_nudges(uid, enabled=bool(value))

    async def _first_advice(self, user: UserRef) -> list[Reply]:
        profile = await self.store.profiles.get(user.user_id) or Profile()
        done = Reply("Thanks, your profile is saved. /profile shows it; /plan makes a week-by-week plan.")
        if profile.target_role and profile.current_role:
            question = f"I am a {profile.current_role} and want to become a {profile.target_role}"
        elif profile.target_role:
            question = f"Which certification should I start with to work in {profile.target_role}?"
        else:
            return [done, Reply('Ask me anything, e.g. "which cert for cloud?".')]
        answer = await self.advisor.aanswer(question, profile, ())
        await self.store.turns.add(user.chat_id, user.user_id, answer.as_turn())
        return [done, Reply(answer.text, answer=answer)]

    # -- questions -------------------------------------------------------------------------
    async def ask(self, user: UserRef, text: str, on_text: OnText | None = None) -> list[Reply]:
        """A free-text question, answered with the profile and the chat's recent turns.

        In LLM mode `on_text` receives the answer as it is written, for front ends that stream it.
        """
        text = text.strip()
        if not text:
            return [Reply("Please write your question as text.")]
        if len(text) > MAX_TEXT_CHARS:
            return [
                Reply(
                    f"That message is too long for me ({len(text)} characters). Please ask in under {MAX_TEXT_CHARS}."
                )
            ]
        await self.store.users.touch(user.user_id, user.chat_id)
        profile = await self.store.profiles.get(user.user_id)
        history = await self.store.turns.recent(user.chat_id, HISTORY_TURNS)
        answer = await self.advisor.aanswer(text, profile, history)
        if self.llm is not None and answer.in_scope and answer.intent in LLM_INTENTS:
            if await self._take_model_call(user):
                # every model call counts: rewriting a follow-up is a second one, made only if it is allowed
                condense = self.llm.condenses(history) and await self._take_model_call(user)
                state = self.advisor.state
                answer = await self.llm.write(
                    answer, profile, history, state.catalog, state.vocab, on_text, condense=condense
                )
            else:
                logger.info("a user reached the daily limit of model calls; answering in grounded mode")
        await self.store.turns.add(user.chat_id, user.user_id, answer.as_turn())
        image = await self._comparison_chart(answer) if answer.intent is Intent.COMPARE else None
        return [Reply(answer.text, answer=answer, image=image, image_name="comparison.png")]

    async def _take_model_call(self, user: UserRef) -> bool:
        return await self.store.llm_usage.take(user.user_id, self.today(), self.llm_daily_requests)

    async def _comparison_chart(self, answer: Answer) -> bytes | None:
        catalog = self.advisor.catalog
        credentials = [catalog.credentials[r.id] for r in answer.recommendations if r.id in catalog.credentials]
        if len(credentials) < 2:
            return None
        return await self._render(lambda: self.charts.comparison(credentials[:4]))

    async def _render(self, draw: Callable[[], bytes]) -> bytes | None:
        """A chart off the event loop; a failure leaves the text answer on its own."""
        try:
            return await asyncio.to_thread(draw)
        except Exception:
            logger.exception("could not draw a chart; sending text only")
            return None

    async def roadmap(self, user: UserRef) -> list[Reply]:
        """/roadmap: the plan as a picture."""
        plan = await self.store.plans.active(user.user_id)
        if plan is None:
            return [Reply("You have no plan yet. Send /plan to make one; then /roadmap shows it as a picture.")]
        progress = await self.store.progress.all(user.user_id)
        catalog, today = self.advisor.catalog, self.today()
        image = await self._render(lambda: self.charts.roadmap(plan, progress, catalog, today))
        if image is None:
            return [plan_view(plan, progress, heading="I could not draw the roadmap; here is your plan as text.")]
        return [Reply(f"Your roadmap toward {plan.target_label}.", image=image, image_name="roadmap.png")]

    async def compare(self, user: UserRef, args: str) -> list[Reply]:
        if not args.strip():
            return [Reply("Tell me what to compare, e.g. /compare AZ-104 vs AWS SAA.")]
        return await self.ask(user, f"compare {args.strip()}")

    # -- profile, plan, progress -------------------------------------------------------------
    async def profile(self, user: UserRef) -> list[Reply]:
        profile = await self.store.profiles.get(user.user_id)
        if profile is None:
            return [Reply("I don't know anything about you yet. Send /start to set up your profile.")]
        return [profile_view(profile, await self.store.nudges.get(user.user_id))]

    async def plan(self, user: UserRef, args: str = "") -> list[Reply]:
        """/plan shows the plan (making one the first time); /plan new rebuilds it after asking."""
        current = await self.store.plans.active(user.user_id)
        progress = await self.store.progress.all(user.user_id)
        if current is not None and args.strip().lower() != "new":
            return [plan_view(current, progress)]
        if current is not None and any(s.credential_id in progress for s in current.steps):
            return [
                Reply(
                    "You already have progress on your plan. Make a new plan anyway? Progress on credentials "
                    "that stay in the new plan is kept.",
                    [[Button("Yes, new plan", "n:yes"), Button("No, keep it", "n:no")]],
                )
            ]
        return await self._build_plan(user, replacing=current is not None)

    async def confirm_new_plan(self, user: UserRef, yes: bool) -> list[Reply]:
        if not yes:
            return [Reply("Kept your current plan. /plan shows it.")]
        return await self._build_plan(user, replacing=True)

    async def _build_plan(self, user: UserRef, *, replacing: bool) -> list[Reply]:
        profile = await self.store.profiles.get(user.user_id) or Profile()
        progress = await self.store.progress.all(user.user_id)
        try:
            plan = build_plan(self.advisor.catalog, profile, self.today(), progress)
        except PlanUnavailable as problem:
            return [
                Reply(
                    f"{problem.message} Set your target with /profile (or /start) and send /plan again.",
                    [[Button("Set target", f"b:{ob.state_of(ob.EDIT, ob.Step.TARGET)}")]],
                )
            ]
        await self.store.plans.replace(user.user_id, plan)
        heading = "Here is your new plan." if replacing else "Here is your plan."
        return [plan_view(plan, progress, heading=heading)]

    async def progress(self, user: UserRef) -> list[Reply]:
        plan = await self.store.plans.active(user.user_id)
        if plan is None:
            return [Reply("You have no plan yet. Send /plan to make one, then mark steps as you go.")]
        progress = await self.store.progress.all(user.user_id)
        view = progress_view(plan, progress)
        image = await self._render(lambda: self.charts.progress_card(plan, progress))
        return [Reply(view.text, view.buttons, image=image, image_name="progress.png")]

    async def mark(self, user: UserRef, position: int, status: StepStatus) -> list[Reply]:
        plan = await self.store.plans.active(user.user_id)
        step = _step_at(plan, position)
        if plan is None or step is None:
            return [Reply("That plan step no longer exists. Send /plan to see your current plan.")]
        await self.store.progress.set(user.user_id, step.credential_id, status)
        said = {
            StepStatus.STARTED: f"Marked {step.credential_name} as started. Good luck!",
            StepStatus.COMPLETED: f"Congratulations on {step.credential_name}!",
            StepStatus.SKIPPED: f"Skipped {step.credential_name}.",
            StepStatus.TODO: f"{step.credential_name} is back on your to-do list.",
        }[status]
        return [Reply(said), progress_view(plan, await self.store.progress.all(user.user_id))]

    # -- nudges ------------------------------------------------------------------------------
    async def _change_nudges(self, user_id: int, **changes: object) -> NudgeSettings:
        current = await self.store.nudges.get(user_id) or NudgeSettings()
        if changes.get("enabled") and not current.enabled:
            # only nudges due after opting in count, so turning them on never sends one at once
            changes["enabled_at"] = self.clock()
        updated = NudgeSettings.model_validate({**current.model_dump(), **changes})
        await self.store.nudges.save(user_id, updated)
        if self.on_nudges_changed is not None:
            await self.on_nudges_changed(user_id)
        return updated

    async def nudges(self, user: UserRef, args: str = "") -> list[Reply]:
        """/nudges [on|off|snooze|DAY|HH:MM]: show or change the weekly nudge."""
        await self.store.users.touch(user.user_id, user.chat_id)
        changes: dict[str, object] = {}
        note = ""
        for word in args.lower().split():
            try:
                if word in ("on", "yes"):
                    changes["enabled"] = True
                elif word in ("off", "no", "stop"):
                    changes["enabled"] = False
                elif word == "snooze":
                    return await self._snooze(user)
                elif any(ch.isdigit() for ch in word):
                    changes["local_time"] = parse_time(word)
                else:
                    changes["weekday"] = parse_day(word)
            except InputError as problem:
                note = str(problem)
        if changes and not note:
            if "enabled" not in changes and ("local_time" in changes or "weekday" in changes):
                changes["enabled"] = True  # choosing a time means wanting the nudge
            settings = await self._change_nudges(user.user_id, **changes)
            note = "Saved."
        else:
            settings = await self.store.nudges.get(user.user_id) or NudgeSettings()
        if settings.enabled and await self.store.users.chat_of(user.user_id) is None:
            # nudges hold a person's plan and progress: they go to their private chat only, never to a group
            note = f"{note}\n{NUDGES_NEED_A_PRIVATE_CHAT}".strip()
        return [nudges_view(settings, self._next_nudge(settings), note)]

    def _next_nudge(self, settings: NudgeSettings) -> dt.datetime | None:
        return next_due(settings, self.clock()) if settings.enabled else None

    async def _snooze(self, user: UserRef) -> list[Reply]:
        settings = await self.store.nudges.get(user.user_id) or NudgeSettings()
        if not settings.enabled:
            return [nudges_view(settings, None, "Nudges are off, so there is nothing to snooze.")]
        skipped = next_due(settings, self.clock()).astimezone(settings.zone).date()
        settings = await self._change_nudges(user.user_id, snoozed_until=skipped + dt.timedelta(days=1))
        return [nudges_view(settings, self._next_nudge(settings), f"Snoozed: no nudge on {skipped:%A %d %B}.")]

    async def checkin(self, user: UserRef, answer: str, position: int | None) -> list[Reply]:
        """A button under a nudge."""
        if answer == "done" and position is not None:
            return await self.mark(user, position, StepStatus.COMPLETED)
        if answer == "working":
            plan = await self.store.plans.active(user.user_id)
            if plan is not None:
                progress = await self.store.progress.all(user.user_id)
                step = plan_progress(plan, progress).next_step
                if step is not None and progress.get(step.credential_id, StepStatus.TODO) is StepStatus.TODO:
                    await self.store.progress.set(user.user_id, step.credential_id, StepStatus.STARTED)
            return [Reply("Good, keep going! I've marked it as in progress and will check in next week.")]
        if answer == "skip":
            return [Reply("No problem, this week is skipped. I'll check in next week.")]
        if answer == "stop":
            await self._change_nudges(user.user_id, enabled=False)
            return [Reply("Nudges are off. /nudges turns them back on whenever you like.")]
        if answer == "plan":
            return await self.plan(user)
        return [Reply("That button has expired. Send /help to see what I can do.")]

    # -- forgetting ----------------------------------------------------------------------------
    async def forget(self, user: UserRef) -> list[Reply]:
        return [
            Reply(
                "This deletes everything I store about you: profile, plan, progress, chat history and nudge "
                "settings. It cannot be undone (/export first sends you a copy). Delete it all?",
                [[Button("Yes, delete everything", "f:yes"), Button("No, keep it", "f:no")]],
            )
        ]

    async def confirm_forget(self, user: UserRef, yes: bool) -> list[Reply]:
        if not yes:
            return [Reply("Nothing was deleted.")]
        await self.store.users.forget(user.user_id)
        await self.store.conversations.save(ONBOARDING, user.conversation_key, None)
        if self.on_forget is not None:
            await self.on_forget(user.user_id)
        logger.info("deleted all data of a user on request")
        return [
            Reply(
                "Done: I deleted your profile, plan, progress, chat history and nudge settings. /start begins afresh."
            )
        ]

    # -- buttons ---------------------------------------------------------------------------------
    async def press(self, user: UserRef, data: str, state: str | None) -> tuple[list[Reply], str | None]:
        """A button outside the questionnaire: plan steps, confirmations and profile edits."""
        kind, _, rest = data.partition(":")
        if kind == "p":
            position, _, status = rest.partition(":")
            if position.isdigit() and status in StepStatus._value2member_map_:
                return await self.mark(user, int(position), StepStatus(status)), state
        elif kind == "n":
            return await self.confirm_new_plan(user, rest == "yes"), state
        elif kind == "r":
            return await self.roadmap(user), state
        elif kind == "k":
            answer, _, position = rest.partition(":")
            return await self.checkin(user, answer, int(position) if position.isdigit() else None), state
        elif kind == "g":
            action, _, value = rest.partition(":")
            if action == "d" and value.isdigit():
                return await self.nudges(user, DAY_NAMES[int(value) % 7]), state
            if action == "t" and value.isdigit():
                return await self.nudges(user, f"{value[:2]}:{value[2:]}"), state
            if action in ("on", "off", "snooze"):
                return await self.nudges(user, action), state
        elif kind == "f":
            replies = await self.confirm_forget(user, rest == "yes")
            return replies, (None if rest == "yes" else state)
        elif kind == "b":
            target_state, _, value = rest.rpartition(":") if rest.count(":") >= 2 else (rest, "", "")
            parsed = ob.parse_state(target_state)
            if parsed is not None and not value:
                return await self.edit(user, parsed[1])
            if parsed is not None:
                if state != target_state:
                    return [Reply("That question has already been answered. /profile changes your answers.")], state
                return await self.answer_step(user, target_state, value, from_button=True)
        return [Reply("That button has expired. Send /help to see what I can do.")], state


_QUESTION_START = re.compile(
    r"^(what|which|how|why|when|where|who|can|could|should|would|is|are|do|does|tell me|compare|recommend)\b", re.I
)


def _is_question(text: str) -> bool:
    text = text.strip()
    return text.endswith("?") or bool(_QUESTION_START.match(text))


def _step_at(plan: LearningPlan | None, position: int) -> PlanStep | None:
    if plan is None:
        return None
    return next((s for s in plan.steps if s.position == position), None)
