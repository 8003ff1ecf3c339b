"""The user's say over the weekly nudge: /nudges and its buttons, snoozing, and the buttons under a nudge."""

from __future__ import annotations

import datetime as dt

from bot.dialog.callbacks import EXPIRED, CheckInAnswer
from bot.dialog.deps import DialogDeps
from bot.dialog.nudge_views import nudges_view, parse_day, parse_time
from bot.dialog.parsing import InputError
from bot.dialog.plans import Plans
from bot.dialog.replies import Reply, UserRef
from bot.nudges.schedule import next_due
from bot.planner.models import StepStatus
from bot.planner.progress import plan_progress
from bot.store.nudges import NudgeSettings

NUDGES_NEED_A_PRIVATE_CHAT = (
    "Nudges come only in a private chat with me, never in a group: open a chat with me and send /start there."
)


class NudgeChoices:
    def __init__(self, deps: DialogDeps, plans: Plans) -> None:
        self.deps = deps
        self.plans = plans  # a check-in can mark the plan's step or show the plan

    async def change(self, user_id: int, **changes: object) -> NudgeSettings:
        """Save changed settings (any field of NudgeSettings) and let the front end reschedule."""
        store = self.deps.store
        current = await store.nudges.get(user_id) or NudgeSettings()
        if changes.get("enabled") and not current.enabled:
            # only nudges due after opting in count, so turning them on never sends one at once
            changes["enabled_at"] = self.deps.clock()
        updated = NudgeSettings.model_validate({**current.model_dump(), **changes})
        await store.nudges.save(user_id, updated)
        if self.deps.on_nudges_changed is not None:
            await self.deps.on_nudges_changed(user_id)
        return updated

    async def nudges(self, user: UserRef, args: str = "") -> list[Reply]:
        """/nudges [on|off|snooze|DAY|HH:MM]: show or change the weekly nudge."""
        store = self.deps.store
        await store.users.touch(user.user_id, user.chat_id)
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
            settings = await self.change(user.user_id, **changes)
            note = "Saved."
        else:
            settings = await store.nudges.get(user.user_id) or NudgeSettings()
        if settings.enabled and await store.users.chat_of(user.user_id) is None:
            # nudges hold a person's plan and progress: they go to their private chat only, never to a group
            note = f"{note}\n{NUDGES_NEED_A_PRIVATE_CHAT}".strip()
        return [nudges_view(settings, self._next_nudge(settings), note)]

    def _next_nudge(self, settings: NudgeSettings) -> dt.datetime | None:
        return next_due(settings, self.deps.clock()) if settings.enabled else None

    async def _snooze(self, user: UserRef) -> list[Reply]:
        settings = await self.deps.store.nudges.get(user.user_id) or NudgeSettings()
        if not settings.enabled:
            return [nudges_view(settings, None, "Nudges are off, so there is nothing to snooze.")]
        skipped = next_due(settings, self.deps.clock()).astimezone(settings.zone).date()
        settings = await self.change(user.user_id, snoozed_until=skipped + dt.timedelta(days=1))
        return [nudges_view(settings, self._next_nudge(settings), f"Snoozed: no nudge on {skipped:%A %d %B}.")]

    async def checkin(self, user: UserRef, answer: CheckInAnswer, position: int | None) -> list[Reply]:
        """A button under a nudge."""
        match answer:
            case CheckInAnswer.DONE if position is not None:
                return await self.plans.mark(user, position, StepStatus.COMPLETED)
            case CheckInAnswer.WORKING:
                await self._start_next_step(user)
                return [Reply("Good, keep going! I've marked it as in progress and will check in next week.")]
            case CheckInAnswer.SKIP:
                return [Reply("No problem, this week is skipped. I'll check in next week.")]
            case CheckInAnswer.STOP:
                await self.change(user.user_id, enabled=False)
                return [Reply("Nudges are off. /nudges turns them back on whenever you like.")]
            case CheckInAnswer.PLAN:
                return await self.plans.plan(user)
        return [Reply(EXPIRED)]

    async def _start_next_step(self, user: UserRef) -> None:
        store = self.deps.store
        plan = await store.plans.active(user.user_id)
        if plan is None:
            return
        progress = await store.progress.all(user.user_id)
        step = plan_progress(plan, progress).next_step
        if step is not None and progress.get(step.credential_id, StepStatus.TODO) is StepStatus.TODO:
            await store.progress.set(user.user_id, step.credential_id, StepStatus.STARTED)
