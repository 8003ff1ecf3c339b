"""/plan, /progress and /roadmap: the week-by-week plan toward the user's target, and marking its steps."""

from __future__ import annotations

from bot.advisor.models import Facets, Intent, Profile, Turn
from bot.dialog.callbacks import ConfirmNewPlan, EditProfile, encode
from bot.dialog.deps import DialogDeps
from bot.dialog.questionnaire import Step
from bot.dialog.replies import Button, Reply, UserRef
from bot.dialog.views import plan_view, progress_view
from bot.planner.builder import PlanUnavailable, build_plan
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from ingest.schema import Domain


class Plans:
    def __init__(self, deps: DialogDeps) -> None:
        self.deps = deps

    async def plan(self, user: UserRef, args: str = "") -> list[Reply]:
        """/plan shows the plan (making one the first time); /plan new rebuilds it after asking."""
        store = self.deps.store
        current = await store.plans.active(user.user_id)
        progress = await store.progress.all(user.user_id)
        if current is not None and args.strip().lower() != "new":
            await self._remember(user, current)
            return [plan_view(current, progress)]
        if current is not None and any(s.credential_id in progress for s in current.steps):
            yes = Button("Yes, new plan", encode(ConfirmNewPlan(yes=True)))
            no = Button("No, keep it", encode(ConfirmNewPlan(yes=False)))
            return [
                Reply(
                    "You already have progress on your plan. Make a new plan anyway? Progress on credentials "
                    "that stay in the new plan is kept.",
                    [[yes, no]],
                )
            ]
        return await self._build_plan(user, replacing=current is not None)

    async def confirm_new_plan(self, user: UserRef, yes: bool) -> list[Reply]:
        if not yes:
            return [Reply("Kept your current plan. /plan shows it.")]
        return await self._build_plan(user, replacing=True)

    async def _build_plan(self, user: UserRef, *, replacing: bool) -> list[Reply]:
        store = self.deps.store
        profile = await store.profiles.get(user.user_id) or Profile()
        progress = await store.progress.all(user.user_id)
        try:
            plan = build_plan(self.deps.advisor.catalog, profile, self.deps.today(), progress)
        except PlanUnavailable as problem:
            return [
                Reply(
                    f"{problem.message} Set your target with /profile (or /start) and send /plan again.",
                    [[Button("Set target", encode(EditProfile(Step.TARGET)))]],
                )
            ]
        await store.plans.replace(user.user_id, plan)
        await self._remember(user, plan, profile)
        heading = "Here is your new plan." if replacing else "Here is your plan."
        return [plan_view(plan, progress, heading=heading)]

    async def _remember(self, user: UserRef, plan: LearningPlan, profile: Profile | None = None) -> None:
        """The plan shown becomes the chat's last turn, so "what about cheaper ones?" refines it."""
        store = self.deps.store
        profile = profile or await store.profiles.get(user.user_id) or Profile()
        field = plan.target_domain
        domains = [Domain(field)] if field is not None and field in Domain._value2member_map_ else []
        switching = bool(profile.current_role and plan.target_occupation)
        turn = Turn(
            question=f"/plan toward {plan.target_label}",
            intent=Intent.CAREER_SWITCH if switching else Intent.RECOMMEND,
            facets=Facets(domains=domains, target_occupation=plan.target_occupation, current_role=profile.current_role),
            recommendation_ids=[step.credential_id for step in plan.steps],
        )
        await store.turns.add(user.chat_id, user.user_id, turn)

    async def progress(self, user: UserRef) -> list[Reply]:
        store = self.deps.store
        plan = await store.plans.active(user.user_id)
        if plan is None:
            return [Reply("You have no plan yet. Send /plan to make one, then mark steps as you go.")]
        progress = await store.progress.all(user.user_id)
        view = progress_view(plan, progress)
        image = await self.deps.draw(lambda: self.deps.charts.progress_card(plan, progress))
        return [Reply(view.text, view.buttons, image=image, image_name="progress.png")]

    async def mark(self, user: UserRef, position: int, status: StepStatus) -> list[Reply]:
        store = self.deps.store
        plan = await store.plans.active(user.user_id)
        step = _step_at(plan, position)
        if plan is None or step is None:
            return [Reply("That plan step no longer exists. Send /plan to see your current plan.")]
        await store.progress.set(user.user_id, step.credential_id, status)
        said = {
            StepStatus.STARTED: f"Marked {step.credential_name} as started. Good luck!",
            StepStatus.COMPLETED: f"Congratulations on {step.credential_name}!",
            StepStatus.SKIPPED: f"Skipped {step.credential_name}.",
            StepStatus.TODO: f"{step.credential_name} is back on your to-do list.",
        }[status]
        return [Reply(said), progress_view(plan, await store.progress.all(user.user_id))]

    async def roadmap(self, user: UserRef) -> list[Reply]:
        """/roadmap: the plan as a picture."""
        plan = await self.deps.store.plans.active(user.user_id)
        if plan is None:
            return [Reply("You have no plan yet. Send /plan to make one; then /roadmap shows it as a picture.")]
        progress = await self.deps.store.progress.all(user.user_id)
        catalog, today = self.deps.advisor.catalog, self.deps.today()
        image = await self.deps.draw(lambda: self.deps.charts.roadmap(plan, progress, catalog, today))
        if image is None:
            return [plan_view(plan, progress, heading="I could not draw the roadmap; here is your plan as text.")]
        return [Reply(f"Your roadmap toward {plan.target_label}.", image=image, image_name="roadmap.png")]


def _step_at(plan: LearningPlan | None, position: int) -> PlanStep | None:
    if plan is None:
        return None
    return next((s for s in plan.steps if s.position == position), None)
