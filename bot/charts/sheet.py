"""A figure laid out in pixels from its top-left corner, drawn with Agg and saved as stable PNG bytes.

Only matplotlib's object API is used (no pyplot), so nothing global is touched and figures can be
drawn in several threads at once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle

from bot.charts.fonts import TextFitter, drawable, font
from bot.charts.style import DPI, INK, SIZE_DETAIL, WIDTH, px

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SWATCH_WIDTH = 38
SWATCH_GAP = 10
KEY_ITEM_GAP = 34


@dataclass(frozen=True)
class Swatch:
    """How a key shows one kind of bar: fill, edge and hatching."""

    face: str
    edge: str
    hatch: str | None = None
    hatch_color: str | None = None
    line_width: float = 1.5


@dataclass(frozen=True)
class KeyItem:
    label: str
    swatch: Swatch


class Sheet:
    """One figure WIDTH pixels wide; x grows to the right, y grows downward, both in pixels."""

    def __init__(self, height: float, width: int = WIDTH) -> None:
        self.width = width
        self.height = round(height)
        self.figure = Figure(figsize=(width / DPI, self.height / DPI), dpi=DPI, facecolor="white")
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(self.height, 0)
        self.ax.set_axis_off()
        self.ax.set_zorder(10)  # text and keys go on top of the panels

    def text(
        self,
        x: float,
        y: float,
        text: str,
        prop: FontProperties,
        color: str = INK,
        ha: str = "left",
        va: str = "top",
    ) -> None:
        """Text whose top-left (by default) is at (x, y); the text must already be drawable."""
        # parse_math off: a name with two "$" must print as written, not as mathtext
        self.ax.text(x, y, text, fontproperties=prop, color=color, ha=ha, va=va, parse_math=False)

    def panel(self, left: float, top: float, width: float, height: float) -> Axes:
        """New axes covering the given pixel box."""
        box = (left / self.width, 1 - (top + height) / self.height, width / self.width, height / self.height)
        return self.figure.add_axes(box)

    def swatch(self, x: float, y: float, width: float, height: float, swatch: Swatch) -> None:
        draw_bar(self.ax, x, y, width, height, swatch)

    def png(self) -> bytes:
        """The figure as PNG bytes, the same bytes for the same drawing; the figure is freed after."""
        buffer = io.BytesIO()
        try:
            # No "Software" entry: the PNG then carries no version string and stays byte-stable.
            self.figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
        finally:
            self.figure.clear()
        return buffer.getvalue()


def draw_bar(ax: Axes, x: float, y: float, width: float, height: float, swatch: Swatch, zorder: float = 2) -> None:
    """A filled box in the axes' data units; hatching is a second box so its colour is the same in every version."""
    ax.add_patch(
        Rectangle(
            (x, y), width, height, facecolor=swatch.face, edgecolor="none", linewidth=0, zorder=zorder, clip_on=False
        )
    )
    if swatch.hatch:
        ax.add_patch(
            Rectangle(
                (x, y),
                width,
                height,
                facecolor="none",
                edgecolor=swatch.hatch_color or swatch.edge,
                hatch=swatch.hatch,
                linewidth=0,
                zorder=zorder,
                clip_on=False,
            )
        )
    ax.add_patch(
        Rectangle(
            (x, y),
            width,
            height,
            facecolor="none",
            edgecolor=swatch.edge,
            linewidth=swatch.line_width,
            zorder=zorder,
            clip_on=False,  # an edge on the axes' border is drawn whole, not halved
        )
    )


class Key:
    """A row of labelled swatches that wraps onto more lines when it does not fit the width."""

    def __init__(self, items: Sequence[KeyItem], fitter: TextFitter, max_width: float, size: float = SIZE_DETAIL):
        self.prop = font(size)
        self.line = px(size) * 1.6
        self.placed: list[tuple[float, int, KeyItem, str]] = []  # x, line number, item, label
        x, line = 0.0, 0
        for item in items:
            label = fitter.ellipsize(drawable(item.label), self.prop, max_width - SWATCH_WIDTH - SWATCH_GAP)
            span = SWATCH_WIDTH + SWATCH_GAP + fitter.width(label, self.prop)
            if x > 0 and x + span > max_width:
                x, line = 0.0, line + 1
            self.placed.append((x, line, item, label))
            x += span + KEY_ITEM_GAP
        self.lines = line + 1 if items else 0

    @property
    def height(self) -> float:
        return self.lines * self.line

    def draw(self, sheet: Sheet, left: float, top: float) -> None:
        box = px(self.prop.get_size_in_points())
        for x, line, item, label in self.placed:
            y = top + line * self.line
            sheet.swatch(left + x, y + box * 0.1, SWATCH_WIDTH, box * 0.9, item.swatch)
            sheet.text(left + x + SWATCH_WIDTH + SWATCH_GAP, y, label, self.prop)
