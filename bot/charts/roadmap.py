"""The roadmap picture: a plan's steps on a timeline in weeks, with where the user stands today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from bot.advisor.catalog import Catalog
from bot.charts.fonts import TextFitter, drawable, font
from bot.charts.sheet import Key, KeyItem, Sheet, Swatch, draw_bar
from bot.charts.status import MARKERS, WORDS, status_swatch
from bot.charts.style import (
    DOMAIN_COLORS,
    GRID,
    INK,
    MARGIN,
    MUTED,
    OTHER_DOMAIN,
    SIZE_DETAIL,
    SIZE_NAME,
    SIZE_SUBTITLE,
    SIZE_TICK,
    SIZE_TITLE,
    SKIPPED,
    TODAY,
    TRACK,
    WIDTH,
    date_text,
    domain_label,
    hours_text,
    line_height,
    px,
)
from bot.planner.models import LearningPlan, PlanStep, StepStatus

BAR_HEIGHT = 38
TICK_BAND = 46  # room for the week numbers above and below the timeline
TODAY_BAND = 46  # room for the "today" label at the top of the timeline
ROW_GAP = 22
# Past this, a today far beyond the plan's end would squash the timeline; the marker then points off the edge.
MAX_STRETCH = 1.5


@dataclass(frozen=True)
class _Row:
    step: PlanStep
    status: StepStatus
    color: str
    names: list[str]
    details: list[str]

    @property
    def height(self) -> float:
        return (
            len(self.names) * line_height(SIZE_NAME)
            + 6
            + BAR_HEIGHT
            + 10
            + len(self.details) * line_height(SIZE_DETAIL)
            + ROW_GAP
        )


def render_roadmap(plan: LearningPlan, progress: Mapping[str, StepStatus], catalog: Catalog, today: dt.date) -> bytes:
    """The plan as a PNG timeline, WIDTH pixels wide and as tall as its steps need."""
    fitter = TextFitter()
    text_width = WIDTH - 2 * MARGIN
    title_font, subtitle_font = font(SIZE_TITLE, bold=True), font(SIZE_SUBTITLE)

    target = drawable(plan.target_label, bold=True) or "your goal"
    titles = fitter.wrap(f"Roadmap: {target}", title_font, text_width, max_lines=2)
    subtitles = [fitter.ellipsize(line, subtitle_font, text_width) for line in _summary(plan)]
    statuses = {
        step.credential_id: StepStatus(progress.get(step.credential_id, StepStatus.TODO)) for step in plan.steps
    }
    rows = [_row(step, statuses[step.credential_id], catalog, fitter, text_width) for step in plan.steps]
    status_key = Key(_status_items(set(statuses.values())), fitter, text_width)
    domain_key = Key(_domain_items(plan, catalog), fitter, text_width)

    header = 30 + len(titles) * line_height(SIZE_TITLE) + len(subtitles) * line_height(SIZE_SUBTITLE) + 14
    header += status_key.height + 10
    timeline_top = header + TICK_BAND
    timeline_height = TODAY_BAND + sum(row.height for row in rows) if rows else TODAY_BAND + 60
    footer = TICK_BAND + line_height(SIZE_TICK) + 20 + domain_key.height + 20
    sheet = Sheet(timeline_top + timeline_height + footer)

    y = 30.0
    for line in titles:
        sheet.text(MARGIN, y, line, title_font)
        y += line_height(SIZE_TITLE)
    for line in subtitles:
        sheet.text(MARGIN, y, line, subtitle_font, color=MUTED)
        y += line_height(SIZE_SUBTITLE)
    status_key.draw(sheet, MARGIN, y + 14)

    timeline = sheet.panel(MARGIN, timeline_top, text_width, timeline_height)
    x_max = _timeline(timeline, plan, today, timeline_top, timeline_height)
    ticks = [t for t in MaxNLocator(nbins=8, integer=True).tick_values(0, x_max) if 0 <= t <= x_max]
    timeline.set_xticks(ticks)

    y = timeline_top + TODAY_BAND
    if not rows:
        sheet.text(MARGIN, y, "This plan has no steps yet.", font(SIZE_NAME), color=MUTED)
    for row in rows:
        y = _draw_row(sheet, timeline, row, y, x_max, ticks)
    _today(sheet, timeline, fitter, plan, today, x_max, timeline_top, timeline_height)

    bottom = timeline_top + timeline_height + TICK_BAND
    sheet.text(WIDTH / 2, bottom, "weeks from the start", font(SIZE_TICK), color=MUTED, ha="center")
    domain_key.draw(sheet, MARGIN, bottom + line_height(SIZE_TICK) + 20)
    return sheet.png()


def _summary(plan: LearningPlan) -> list[str]:
    count = len(plan.steps)
    total_hours = sum(step.study_hours for step in plan.steps)
    finish = plan.created_on + dt.timedelta(weeks=plan.total_weeks)
    return [
        f"{count} step{'s' if count != 1 else ''} · {hours_text(total_hours)} of study · "
        f"{hours_text(plan.hours_per_week)} a week",
        f"{date_text(plan.created_on)} → finish ≈ {date_text(finish)} ({plan.total_weeks} weeks)",
    ]


def _row(step: PlanStep, status: StepStatus, catalog: Catalog, fitter: TextFitter, width: float) -> _Row:
    credential = catalog.credentials.get(step.credential_id)
    color = DOMAIN_COLORS[credential.primary_domain] if credential is not None else OTHER_DOMAIN
    name = f"{MARKERS[status]} {step.position}. {drawable(step.credential_name, bold=True)}"
    weeks = (
        f"week {step.start_week}" if step.start_week == step.end_week else f"weeks {step.start_week}–{step.end_week}"
    )
    parts = [WORDS[status], weeks, hours_text(step.study_hours), drawable(step.milestone)]
    detail = " · ".join(part for part in parts if part)
    return _Row(
        step=step,
        status=status,
        color=SKIPPED if status is StepStatus.SKIPPED else color,
        names=fitter.wrap(name, font(SIZE_NAME, bold=True), width, max_lines=2),
        details=fitter.wrap(detail, font(SIZE_DETAIL), width, max_lines=2),
    )


def _status_items(present: set[StepStatus]) -> list[KeyItem]:
    shown = [StepStatus.COMPLETED, StepStatus.STARTED, StepStatus.TODO]
    if StepStatus.SKIPPED in present:
        shown.append(StepStatus.SKIPPED)
    return [KeyItem(f"{MARKERS[s]} {WORDS[s].lower()}", status_swatch(s, MUTED)) for s in shown]


def _domain_items(plan: LearningPlan, catalog: Catalog) -> list[KeyItem]:
    """One entry per primary domain in the plan, in order of first appearance."""
    items: dict[str, KeyItem] = {}
    for step in plan.steps:
        credential = catalog.credentials.get(step.credential_id)
        if credential is None:
            items.setdefault("", KeyItem("Other", Swatch(face=OTHER_DOMAIN, edge=OTHER_DOMAIN)))
        else:
            color = DOMAIN_COLORS[credential.primary_domain]
            items.setdefault(
                credential.primary_domain, KeyItem(domain_label(credential.primary_domain), Swatch(color, color))
            )
    return list(items.values())


def _timeline(ax: Axes, plan: LearningPlan, today: dt.date, top: float, height: float) -> float:
    """Set up the week axis (y stays in sheet pixels) and return its right end in weeks."""
    span = float(max(plan.total_weeks, 1))
    today_x = (today - plan.created_on).days / 7
    x_max = span if today_x <= span else min(today_x * 1.04, span * MAX_STRETCH)
    ax.set_xlim(0, x_max)
    ax.set_ylim(top + height, top)
    ax.set_facecolor("none")
    ax.tick_params(
        axis="x", top=True, labeltop=True, labelsize=SIZE_TICK, labelcolor=MUTED, color=GRID, length=6, width=1.5
    )
    ax.tick_params(axis="y", left=False, labelleft=False)
    for side in ("left", "right"):
        ax.spines[side].set_visible(False)
    for side in ("top", "bottom"):
        ax.spines[side].set_color(GRID)
        ax.spines[side].set_linewidth(1.5)
    return x_max


def _draw_row(
    sheet: Sheet,
    ax: Axes,
    row: _Row,
    y: float,
    x_max: float,
    ticks: list[float],
) -> float:
    """Draw one step from y downward and return where the next starts."""
    muted = row.status is StepStatus.SKIPPED
    for line in row.names:
        sheet.text(MARGIN, y, line, font(SIZE_NAME, bold=True), color=MUTED if muted else INK)
        y += line_height(SIZE_NAME)
    y += 6
    # The track and its week lines sit under the bar (zorder), whatever order they are added in.
    draw_bar(ax, 0, y, x_max, BAR_HEIGHT, Swatch(face=TRACK, edge=TRACK, line_width=0), zorder=0.5)
    ax.vlines(ticks, y, y + BAR_HEIGHT, colors="white", linewidth=2, zorder=0.8)
    start, end = row.step.start_week - 1, row.step.end_week
    draw_bar(ax, start, y + 2, end - start, BAR_HEIGHT - 4, status_swatch(row.status, row.color))
    y += BAR_HEIGHT + 10
    for line in row.details:
        sheet.text(MARGIN, y, line, font(SIZE_DETAIL), color=MUTED)
        y += line_height(SIZE_DETAIL)
    return y + ROW_GAP


def _today(
    sheet: Sheet,
    ax: Axes,
    fitter: TextFitter,
    plan: LearningPlan,
    today: dt.date,
    x_max: float,
    top: float,
    height: float,
) -> None:
    """A vertical line at today, labelled at the top; an arrow at the edge when today is off the timeline."""
    today_x = (today - plan.created_on).days / 7
    width = WIDTH - 2 * MARGIN
    prop = font(SIZE_DETAIL, bold=True)
    if today_x < 0:
        label, at = f"◀ starts {date_text(plan.created_on)}", 0.0
    elif today_x > x_max:
        label, at = f"today: week {int(today_x) + 1} →", x_max
    else:
        label, at = f"today · week {int(today_x) + 1}", today_x
        ax.vlines([today_x], top + TODAY_BAND - 6, top + height, colors=TODAY, linewidth=2.5, linestyles="--", zorder=5)
    label_width = fitter.width(label, prop)
    centre = MARGIN + width * at / x_max
    centre = min(max(centre, MARGIN + label_width / 2), WIDTH - MARGIN - label_width / 2)
    sheet.text(centre, top + (TODAY_BAND - px(SIZE_DETAIL)) / 2, label, prop, color=TODAY, ha="center")
