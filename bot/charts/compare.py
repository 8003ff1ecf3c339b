"""The comparison picture: credentials side by side, their cost and study-hour ranges on shared scales."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.charts.fonts import TextFitter, drawable, font
from bot.charts.sheet import Sheet
from bot.charts.style import (
    GRID,
    LEVEL_COLORS,
    MARGIN,
    MUTED,
    SIZE_DETAIL,
    SIZE_NAME,
    SIZE_SUBTITLE,
    SIZE_TICK,
    SIZE_TITLE,
    TRACK,
    WIDTH,
    line_height,
    money_text,
)
from ingest.schema import Credential

MAX_COMPARED = 6  # made for 2-4; a few more still fit, beyond that the picture stops being readable
PANEL_GAP = 60
PANEL_WIDTH = (WIDTH - 2 * MARGIN - PANEL_GAP) / 2
HOURS_LEFT = MARGIN + PANEL_WIDTH + PANEL_GAP
BAND = 44  # height of one credential's range strip
ROW_GAP = 30
CURRENCY = "USD"


@dataclass(frozen=True)
class _Row:
    credential: Credential
    names: list[str]
    about: str
    cost: str
    hours: str

    @property
    def height(self) -> float:
        return (
            len(self.names) * line_height(SIZE_NAME)
            + line_height(SIZE_DETAIL)
            + 8
            + BAND
            + 8
            + line_height(SIZE_DETAIL)
            + ROW_GAP
        )


def render_comparison(credentials: Sequence[Credential]) -> bytes:
    """A PNG, WIDTH pixels wide, comparing 1 to MAX_COMPARED credentials (best at 2-4)."""
    if not 1 <= len(credentials) <= MAX_COMPARED:
        raise ValueError(f"can compare 1 to {MAX_COMPARED} credentials, got {len(credentials)}")
    fitter = TextFitter()
    title_font, subtitle_font = font(SIZE_TITLE, bold=True), font(SIZE_SUBTITLE)
    name_font, detail_font = font(SIZE_NAME, bold=True), font(SIZE_DETAIL)
    head_font = font(SIZE_SUBTITLE, bold=True)
    rows = [_row(credential, fitter) for credential in credentials]
    subtitle = "Bars show the typical range; costs in other currencies are given, not converted."
    subtitles = fitter.wrap(subtitle, subtitle_font, WIDTH - 2 * MARGIN, max_lines=2)

    top = 30 + line_height(SIZE_TITLE) + len(subtitles) * line_height(SIZE_SUBTITLE) + 20
    rows_top = top + line_height(SIZE_SUBTITLE) + 10
    rows_height = sum(row.height for row in rows)
    sheet = Sheet(rows_top + rows_height + line_height(SIZE_TICK) + 40)

    sheet.text(MARGIN, 30, "Side by side", title_font)
    y = 30 + line_height(SIZE_TITLE)
    for line in subtitles:
        sheet.text(MARGIN, y, line, subtitle_font, color=MUTED)
        y += line_height(SIZE_SUBTITLE)
    sheet.text(MARGIN, top, f"Cost ({CURRENCY})", head_font)
    sheet.text(HOURS_LEFT, top, "Study hours", head_font)

    cost_max = _axis_end([c.cost.max for c in credentials if c.cost.currency == CURRENCY])
    hours_max = _axis_end([c.hours.max for c in credentials])
    y = rows_top
    for row in rows:
        credential = row.credential
        for line in row.names:
            sheet.text(MARGIN, y, line, name_font)
            y += line_height(SIZE_NAME)
        level_color = LEVEL_COLORS[credential.level]
        sheet.text(MARGIN, y, "●", detail_font, color=level_color)
        sheet.text(MARGIN + fitter.width("● ", detail_font), y, row.about, detail_font, color=MUTED)
        y += line_height(SIZE_DETAIL) + 8
        cost_ax = _strip(sheet, MARGIN, y, BAND, cost_max)
        hours_ax = _strip(sheet, HOURS_LEFT, y, BAND, hours_max)
        if credential.cost.currency == CURRENCY:
            _range(cost_ax, credential.cost.min, credential.cost.max, level_color)
        else:
            note = f"priced in {credential.cost.currency}, not on this scale"
            sheet.text(
                MARGIN + PANEL_WIDTH / 2, y + BAND / 2, note, font(SIZE_TICK - 4), color=MUTED, ha="center", va="center"
            )
        _range(hours_ax, credential.hours.min, credential.hours.max, level_color)
        y += BAND + 8
        sheet.text(MARGIN, y, row.cost, detail_font)
        sheet.text(HOURS_LEFT, y, row.hours, detail_font)
        y += line_height(SIZE_DETAIL) + ROW_GAP
    # One scale under each panel; the white grid lines in every strip fall on its ticks.
    for left, x_max in ((MARGIN, cost_max), (HOURS_LEFT, hours_max)):
        scale = _strip(sheet, left, y - ROW_GAP + 4, 1, x_max)
        scale.set_facecolor("none")
        scale.tick_params(axis="x", labelbottom=True)
    return sheet.png()


def _row(credential: Credential, fitter: TextFitter) -> _Row:
    name = drawable(credential.name, bold=True)
    about = f"{credential.level.value.capitalize()} · {drawable(credential.provider)}"
    detail_font = font(SIZE_DETAIL)
    return _Row(
        credential=credential,
        names=fitter.wrap(name, font(SIZE_NAME, bold=True), WIDTH - 2 * MARGIN, max_lines=2),
        about=fitter.ellipsize(about, detail_font, WIDTH - 2 * MARGIN - fitter.width("● ", detail_font)),
        cost=fitter.ellipsize(cost_label(credential), detail_font, PANEL_WIDTH),
        hours=fitter.ellipsize(_span(credential.hours.min, credential.hours.max, " h"), detail_font, PANEL_WIDTH),
    )


def cost_label(credential: Credential) -> str:
    """The cost as printed: USD as is, any other currency named and flagged, never converted."""
    cost = credential.cost
    if cost.max == 0:
        return "free"
    amount = _span(cost.min, cost.max, f" {cost.currency}")
    return amount if cost.currency == CURRENCY else f"{amount} · other currency"


def _span(low: float, high: float, unit: str) -> str:
    return f"{money_text(low)}{unit}" if low == high else f"{money_text(low)}–{money_text(high)}{unit}"


def _axis_end(values: Sequence[float]) -> float:
    """A little past the largest value, so the longest bar does not touch the edge."""
    return max(values, default=0) * 1.08 or 1.0


def _strip(sheet: Sheet, left: float, top: float, height: float, x_max: float) -> Axes:
    """A strip of a panel on the panel's shared scale, from 0 to x_max; tick labels hidden."""
    ax = sheet.panel(left, top, PANEL_WIDTH, height)
    ax.set_xlim(0, x_max)
    ax.set_ylim(-1, 1)
    ax.set_facecolor(TRACK)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.grid(axis="x", color="white", linewidth=2)
    ax.set_axisbelow(True)
    ax.tick_params(axis="x", labelbottom=False, labelsize=SIZE_TICK, labelcolor=MUTED, color=GRID, length=0)
    ax.tick_params(axis="y", left=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _range(ax: Axes, low: float, high: float, color: str) -> None:
    """A range as a thick rounded bar; a single value as a dot."""
    if low == high:
        ax.plot([low], [0], marker="o", markersize=20, color=color, clip_on=False)
    else:
        ax.plot([low, high], [0, 0], color=color, linewidth=18, solid_capstyle="round", clip_on=False)
