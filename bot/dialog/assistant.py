"""Everything a user can do with the bot, independent of Telegram or the terminal.

Front ends turn an update or a typed line into one call here and show the replies; the store
keeps the answers, so a restart (or switching front end) loses nothing already confirmed.
`Assistant` only puts the features together, one module each:

    profile_flow    the questionnaire: /start, /cancel, /profile and its buttons, each answer
    questions       free-text questions and /compare (the LLM, when allowed)
    plans           /plan, /progress, /roadmap and marking steps
    nudge_choices   /nudges and the buttons under a nudge
    forgetting      /forget
    buttons         a pressed button, handed to the feature it belongs to
"""

from __future__ import annotations

import datetime as dt

from bot.advisor import Advisor
from bot.dialog.buttons import Buttons
from bot.dialog.callbacks import Action
from bot.dialog.deps import DialogDeps, UserHook
from bot.dialog.forgetting import Forgetting
from bot.dialog.nudge_choices import NudgeChoices
from bot.dialog.plans import Plans
from bot.dialog.profile_flow import ProfileFlow, RepliesAndState
from bot.dialog.questions import HISTORY_TURNS, MAX_TEXT_CHARS, Questions
from bot.dialog.replies import Reply, UserRef
from bot.llm.answerer import LLMAnswerer, OnText
from bot.nudges.schedule import Clock, system_clock
from bot.prompts import Texts
from bot.store import Store

__all__ = ["HISTORY_TURNS", "MAX_TEXT_CHARS", "Assistant"]  # the limits are quoted by the benchmarks


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
        self.deps = DialogDeps(store, advisor, texts, clock, on_forget, on_nudges_changed)
        self.questions = Questions(self.deps, llm, llm_daily_requests)
        self.plans = Plans(self.deps)
        self.nudge_choices = NudgeChoices(self.deps, self.plans)
        self.profile_flow = ProfileFlow(self.deps, self.questions, self.nudge_choices)
        self.forgetting = Forgetting(self.deps, self.profile_flow)
        self.buttons = Buttons(self.profile_flow, self.plans, self.nudge_choices, self.forgetting, self.questions)

    def today(self) -> dt.date:
        return self.deps.today()

    # What the front ends call: one method per command, typed text and button press.
    async def onboarding_state(self, user: UserRef) -> str | None:
        return await self.profile_flow.state(user)

    async def start(self, user: UserRef) -> RepliesAndState:
        return await self.profile_flow.start(user)

    async def answer_step(self, user: UserRef, state: str, raw: str, *, from_button: bool) -> RepliesAndState:
        return await self.profile_flow.answer_step(user, state, raw, from_button=from_button)

    async def cancel(self, user: UserRef) -> list[Reply]:
        return await self.profile_flow.cancel(user)

    async def profile(self, user: UserRef) -> list[Reply]:
        return await self.profile_flow.profile(user)

    async def ask(self, user: UserRef, text: str, on_text: OnText | None = None) -> list[Reply]:
        return await self.questions.ask(user, text, on_text)

    async def compare(self, user: UserRef, args: str) -> list[Reply]:
        return await self.questions.compare(user, args)

    async def plan(self, user: UserRef, args: str = "") -> list[Reply]:
        return await self.plans.plan(user, args)

    async def progress(self, user: UserRef) -> list[Reply]:
        return await self.plans.progress(user)

    async def roadmap(self, user: UserRef) -> list[Reply]:
        return await self.plans.roadmap(user)

    async def nudges(self, user: UserRef, args: str = "") -> list[Reply]:
        return await self.nudge_choices.nudges(user, args)

    async def forget(self, user: UserRef) -> list[Reply]:
        return await self.forgetting.forget(user)

    async def press(self, user: UserRef, action: Action | None, state: str | None) -> RepliesAndState:
        """A button, as `callbacks.decode` read its data (None: stale or forged), in questionnaire `state`."""
        return await self.buttons.press(user, action, state)
