"""How far the user is along a plan, from the status they gave each credential."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.planner.models import LearningPlan, PlanStep, StepStatus


@dataclass(frozen=True)
class PlanProgress:
    done: int
    total: int  # steps that count: every step except the skipped ones
    percent: int
    next_step: PlanStep | None  # the first step neither completed nor skipped
    current: PlanStep | None  # the first step under way


def _percent(done: int, total: int) -> int:
    """Whole percent, halves rounded up (Python's round() would take 12.5 down to 12)."""
    if total == 0:
        return 0
    return (200 * done + total) // (2 * total)


def plan_progress(plan: LearningPlan, progress: Mapping[str, StepStatus]) -> PlanProgress:
    """Progress over the plan's steps; statuses of credentials outside the plan do not count."""
    # StepStatus() also accepts the plain strings a store may hand back
    statuses = [(step, StepStatus(progress.get(step.credential_id, StepStatus.TODO))) for step in plan.steps]
    counted = [(step, status) for step, status in statuses if status is not StepStatus.SKIPPED]
    done = sum(1 for _, status in counted if status is StepStatus.COMPLETED)
    return PlanProgress(
        done=done,
        total=len(counted),
        percent=_percent(done, len(counted)),
        next_step=next((step for step, status in counted if status is not StepStatus.COMPLETED), None),
        current=next((step for step, status in counted if status is StepStatus.STARTED), None),
    )
