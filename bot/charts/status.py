"""How a step's status is shown: its marker, its word and its bar."""

from __future__ import annotations

from bot.charts.sheet import Swatch
from bot.charts.style import SKIPPED, lighten
from bot.planner.models import StepStatus

MARKERS = {
    StepStatus.COMPLETED: "✓",
    StepStatus.STARTED: "▶",
    StepStatus.TODO: "○",
    StepStatus.SKIPPED: "↷",
}
WORDS = {
    StepStatus.COMPLETED: "Done",
    StepStatus.STARTED: "In progress",
    StepStatus.TODO: "Upcoming",
    StepStatus.SKIPPED: "Skipped",
}


def status_swatch(status: StepStatus, color: str) -> Swatch:
    """Done is solid, in progress hatched with a heavy edge, upcoming an outline, skipped grey."""
    if status is StepStatus.COMPLETED:
        return Swatch(face=color, edge=color)
    if status is StepStatus.STARTED:
        return Swatch(face=lighten(color, 0.6), edge=color, hatch="//", hatch_color=color, line_width=3.5)
    if status is StepStatus.SKIPPED:
        return Swatch(face="#f4f4f4", edge=SKIPPED, hatch="xx", hatch_color=lighten(SKIPPED, 0.4), line_width=1.5)
    return Swatch(face="white", edge=color, line_width=2.5)
