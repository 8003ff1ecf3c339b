"""Learning plans: week-by-week steps toward a target role or field."""

from bot.planner.models import LearningPlan, PlanStep, StepStatus

__all__ = ["LearningPlan", "PlanStep", "StepStatus"]
