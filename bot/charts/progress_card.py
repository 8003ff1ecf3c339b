"""The progress card: percent of the plan done as a ring, steps and study hours done against the plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from matplotlib.patches import Wedge

from bot.charts.fonts import TextFitter, drawable, font
from bot.charts.sheet import Sheet, Swatch, draw_bar
from bot.charts.status import status_swatch
from bot.charts.style import (
    INK,
    MARGIN,
    MUTED,
    SIZE_BIG,
    SIZE_DETAIL,
    SIZE_NAME,
    SIZE_TITLE,
    TRACK,
    WIDTH,
    hours_text,
    line_height,
    px,
)
from bot.planner.models import LearningPlan, StepStatus
from bot.planner.progress import plan_progress

DONE = "#2da44e"
RING = 380
RING_WIDTH = 0.28  # of the radius
COLUMN_LEFT = MARGIN + RING + 50
BAR_HEIGHT = 40
GAP = 26


@dataclass(frozen=True)
class CardFigures:
    """What the card shows; skipped steps count in neither steps nor hours, as in /progress."""

    percent: int
    done: int
    total: int
    hours_done: float
    hours_planned: float
    skipped: int
    statuses: list[StepStatus]  # of the counted steps, in plan order
    next_line: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


def card_figures(plan: LearningPlan, progress: Mapping[str, StepStatus]) -> CardFigures:
    summary = plan_progress(plan, progress)
    statuses = [StepStatus(progress.get(step.credential_id, StepStatus.TODO)) for step in plan.steps]
    counted = [
        (step, status) for step, status in zip(plan.steps, statuses, strict=True) if status is not StepStatus.SKIPPED
    ]
    if summary.next_step is not None:
        verb = "Now" if summary.current is summary.next_step else "Next"
        next_line = f"{verb}: {summary.next_step.credential_name}"
    else:
        next_line = "Every step is done ✓" if plan.steps else "This plan has no steps yet."
    return CardFigures(
        percent=summary.percent,
        done=summary.done,
        total=summary.total,
        hours_done=sum(step.study_hours for step, status in counted if status is StepStatus.COMPLETED),
        hours_planned=sum(step.study_hours for step, _ in counted),
        skipped=len(plan.steps) - len(counted),
        statuses=[status for _, status in counted],
        next_line=next_line,
    )


def render_progress_card(plan: LearningPlan, progress: Mapping[str, StepStatus]) -> bytes:
    """A PNG card WIDTH pixels wide: the percent done (as /progress counts it), steps and hours."""
    fitter = TextFitter()
    figures = card_figures(plan, progress)

    title_font, big_font = font(SIZE_TITLE, bold=True), font(SIZE_BIG, bold=True)
    head_font, small_font = font(SIZE_NAME, bold=True), font(SIZE_DETAIL)
    column = WIDTH - MARGIN - COLUMN_LEFT
    target = drawable(plan.target_label, bold=True) or "your goal"
    titles = fitter.wrap(f"Progress: {target}", title_font, WIDTH - 2 * MARGIN, max_lines=2)
    notes = [(line, INK) for line in fitter.wrap(drawable(figures.next_line), small_font, column, max_lines=2)]
    if figures.skipped:
        plural = "s" if figures.skipped != 1 else ""
        notes.append((f"{figures.skipped} step{plural} skipped, not counted", MUTED))

    top = 30 + len(titles) * line_height(SIZE_TITLE) + 20
    column_height = 2 * (line_height(SIZE_NAME) + BAR_HEIGHT + GAP) + len(notes) * line_height(SIZE_DETAIL)
    sheet = Sheet(top + max(RING, column_height) + 40)

    y = 30.0
    for line in titles:
        sheet.text(MARGIN, y, line, title_font)
        y += line_height(SIZE_TITLE)

    _ring(sheet, MARGIN, top, figures.fraction)
    centre_y = top + RING / 2
    sheet.text(
        MARGIN + RING / 2, centre_y - px(SIZE_BIG) * 0.15, f"{figures.percent}%", big_font, ha="center", va="center"
    )
    sheet.text(
        MARGIN + RING / 2, centre_y + px(SIZE_BIG) * 0.55, "done", small_font, color=MUTED, ha="center", va="center"
    )

    y = top
    sheet.text(COLUMN_LEFT, y, f"{figures.done} of {figures.total} steps done", head_font)
    y += line_height(SIZE_NAME)
    _step_segments(sheet, y, column, figures.statuses)
    y += BAR_HEIGHT + GAP
    sheet.text(
        COLUMN_LEFT, y, f"{hours_text(figures.hours_done)} of {hours_text(figures.hours_planned)} studied", head_font
    )
    y += line_height(SIZE_NAME)
    draw_bar(sheet.ax, COLUMN_LEFT, y, column, BAR_HEIGHT, Swatch(face=TRACK, edge=TRACK, line_width=0))
    if figures.hours_done > 0:
        share = min(figures.hours_done / figures.hours_planned, 1.0)
        draw_bar(sheet.ax, COLUMN_LEFT, y, column * share, BAR_HEIGHT, Swatch(face=DONE, edge=DONE, line_width=0))
    y += BAR_HEIGHT + GAP
    for line, color in notes:
        sheet.text(COLUMN_LEFT, y, line, small_font, color=color)
        y += line_height(SIZE_DETAIL)
    return sheet.png()


def _ring(sheet: Sheet, left: float, top: float, fraction: float) -> None:
    """A ring filled clockwise from twelve o'clock by the fraction done."""
    ax = sheet.panel(left, top, RING, RING)
    ax.set_xlim(-1.02, 1.02)
    ax.set_ylim(-1.02, 1.02)
    ax.set_axis_off()
    if fraction < 1:
        ax.add_patch(Wedge((0, 0), 1, 90, 90 + 360 * (1 - fraction), width=RING_WIDTH, facecolor=TRACK))
    if fraction > 0:
        ax.add_patch(Wedge((0, 0), 1, 90 - 360 * fraction, 90, width=RING_WIDTH, facecolor=DONE))


def _step_segments(sheet: Sheet, y: float, width: float, statuses: list[StepStatus]) -> None:
    """One segment per counted step, styled by its status as on the roadmap."""
    if not statuses:
        draw_bar(sheet.ax, COLUMN_LEFT, y, width, BAR_HEIGHT, Swatch(face=TRACK, edge=TRACK, line_width=0))
        return
    gap = 6 if len(statuses) < 30 else 0
    segment = (width - gap * (len(statuses) - 1)) / len(statuses)
    for index, status in enumerate(statuses):
        draw_bar(sheet.ax, COLUMN_LEFT + index * (segment + gap), y, segment, BAR_HEIGHT, status_swatch(status, DONE))
