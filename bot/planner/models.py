"""The learning plan a user follows, independent of how it is stored or shown."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field


class StepStatus(StrEnum):
    """Where the user is with one credential; kept per credential so it survives a rebuilt plan."""

    TODO = "todo"
    STARTED = "started"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class PlanStep(BaseModel):
    """One credential of the plan, scheduled in whole weeks counted from the plan's start (week 1)."""

    position: int = Field(ge=1)
    credential_id: str
    credential_name: str
    start_week: int = Field(ge=1)
    end_week: int = Field(ge=1)
    study_hours: float = Field(ge=0, description="hours of study planned for this step")
    milestone: str = Field(description="what 'done' looks like for this step, in one line")
    stage: str = Field(default="", description="first | next | later when the step comes from an occupation pathway")


class LearningPlan(BaseModel):
    target_label: str = Field(description="the role or field the plan leads to, as shown to the user")
    target_occupation: str | None = Field(default=None, description="occupation id when the target is a known role")
    target_domain: str | None = None
    hours_per_week: float = Field(gt=0)
    created_on: dt.date
    steps: list[PlanStep] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="short remarks shown under the plan")

    @property
    def total_weeks(self) -> int:
        return max((s.end_week for s in self.steps), default=0)
