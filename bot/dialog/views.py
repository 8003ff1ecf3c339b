"""Plain-text views of a profile, a plan and progress, with the buttons that act on them."""

from __future__ import annotations

from collections.abc import Mapping

from bot.advisor.models import Profile
from bot.dialog.callbacks import EditProfile, MarkStep, ShowRoadmap, encode
from bot.dialog.onboarding import PROVIDER_LABELS
from bot.dialog.questionnaire import Step
from bot.dialog.replies import Button, Reply
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from bot.planner.progress import plan_progress
from bot.store.nudges import NudgeSettings

_STATUS_MARK = {
    StepStatus.TODO: "[ ]",
    StepStatus.STARTED: "[>]",
    StepStatus.COMPLETED: "[x]",
    StepStatus.SKIPPED: "[-]",
}


def _money(amount: float | None) -> str:
    if amount is None:
        return "no limit"
    return "free only" if amount == 0 else f"up to ${amount:,.0f}"


def profile_view(profile: Profile, nudges: NudgeSettings | None) -> Reply:
    providers = ", ".join(PROVIDER_LABELS.get(p, p) for p in profile.preferred_providers) or "no preference"
    lines = [
        "Your profile",
        f"Current role: {profile.current_role or 'not set'}",
        f"Target: {profile.target_role or (profile.target_domain.value if profile.target_domain else 'not set')}",
        f"Experience: {profile.level.value if profile.level else 'not set'}",
        f"Hours a week: {f'{profile.hours_per_week:g}' if profile.hours_per_week else 'not set'}",
        f"Budget: {_money(profile.budget_usd)}",
        f"Preferred providers: {providers}",
        f"Time zone: {nudges.timezone if nudges else 'not set'}",
        f"Weekly nudges: {'on' if nudges and nudges.enabled else 'off'}",
        "",
        "Tap a button to change a field.",
    ]
    labels = [
        (Step.ROLE, "Role"),
        (Step.TARGET, "Target"),
        (Step.LEVEL, "Experience"),
        (Step.HOURS, "Hours"),
        (Step.BUDGET, "Budget"),
        (Step.PROVIDERS, "Providers"),
        (Step.TIMEZONE, "Time zone"),
        (Step.NUDGES, "Nudges"),
    ]
    buttons = [Button(label, encode(EditProfile(step))) for step, label in labels]
    return Reply("\n".join(lines), [buttons[i : i + 4] for i in range(0, len(buttons), 4)])


def step_buttons(step: PlanStep) -> list[Button]:
    position = step.position
    return [
        Button("Started", encode(MarkStep(position, StepStatus.STARTED))),
        Button("Done", encode(MarkStep(position, StepStatus.COMPLETED))),
        Button("Skip", encode(MarkStep(position, StepStatus.SKIPPED))),
    ]


def plan_view(plan: LearningPlan, progress: Mapping[str, StepStatus], heading: str = "") -> Reply:
    state = plan_progress(plan, progress)
    lines = [heading] if heading else []
    lines += [
        f"Your plan toward {plan.target_label} at {plan.hours_per_week:g} hours a week "
        f"(about {plan.total_weeks} weeks, made {plan.created_on.isoformat()}):",
        "",
    ]
    for step in plan.steps:
        status = StepStatus(progress.get(step.credential_id, StepStatus.TODO))
        weeks = (
            f"week {step.start_week}"
            if step.start_week == step.end_week
            else f"weeks {step.start_week}-{step.end_week}"
        )
        lines.append(
            f"{_STATUS_MARK[status]} {step.position}. {step.credential_name} ({weeks}, ~{step.study_hours:g} h)"
        )
        lines.append(f"    Milestone: {step.milestone}")
    for note in plan.notes:
        lines.append(f"Note: {note}")
    lines += ["", f"Done: {state.percent}% ({state.done} of {state.total} steps)."]
    buttons: list[list[Button]] = []
    if state.next_step is not None:
        lines.append(f"Next step: {state.next_step.credential_name}. Mark it below, or see /progress.")
        buttons.append(step_buttons(state.next_step))
    elif plan.steps:
        lines.append("Every step is done. Well done! Send /plan new for a fresh plan.")
    buttons.append([Button("Show roadmap", encode(ShowRoadmap()))])
    return Reply("\n".join(lines), buttons)


def progress_view(plan: LearningPlan, progress: Mapping[str, StepStatus]) -> Reply:
    state = plan_progress(plan, progress)
    lines = [f"Progress toward {plan.target_label}: {state.percent}% ({state.done} of {state.total} steps done)."]
    if state.current is not None:
        lines.append(f"Working on: {state.current.credential_name}.")
    if state.next_step is not None and state.next_step != state.current:
        lines.append(f"Next: {state.next_step.credential_name} ({state.next_step.milestone}).")
    if state.next_step is None:
        lines.append("Every step is done. Send /plan new for a fresh plan.")
    buttons = [step_buttons(state.next_step)] if state.next_step is not None else []
    return Reply("\n".join(lines), buttons)
