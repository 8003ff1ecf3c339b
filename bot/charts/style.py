"""How the charts look: canvas size, type sizes, colours and the short labels they print."""

from __future__ import annotations

import datetime as dt

from matplotlib.colors import to_hex, to_rgb

from ingest.schema import Domain, Level

# A phone shows this 1080-pixel width across about 360 dp, so even small print here is 20 pt (28 px).
WIDTH = 1080
DPI = 100
MARGIN = 40

SIZE_TITLE = 34
SIZE_SUBTITLE = 22
SIZE_NAME = 24
SIZE_DETAIL = 20
SIZE_TICK = 20
SIZE_BIG = 60

INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d0d7de"
TRACK = "#f0f2f4"
TODAY = "#cf222e"
SKIPPED = "#9e9e9e"
OTHER_DOMAIN = "#8c8c8c"

DOMAIN_COLORS: dict[Domain, str] = {
    Domain.CLOUD: "#1f77b4",
    Domain.DEVOPS: "#0097a7",
    Domain.DATA_ANALYTICS: "#2ca02c",
    Domain.DATA_ENGINEERING: "#00695c",
    Domain.AI_ML: "#9467bd",
    Domain.CYBERSECURITY: "#d62728",
    Domain.IT_SUPPORT: "#8c564b",
    Domain.NETWORKING: "#ff7f0e",
    Domain.SOFTWARE_DEVELOPMENT: "#3949ab",
    Domain.UX_DESIGN: "#e377c2",
    Domain.PROJECT_MANAGEMENT: "#9e9d24",
    Domain.AGILE: "#7cb342",
    Domain.DIGITAL_MARKETING: "#ec407a",
    Domain.BUSINESS_ANALYSIS: "#546e7a",
    Domain.PRODUCT_MANAGEMENT: "#ffa000",
    Domain.LEADERSHIP: "#6a1b9a",
    Domain.SOFT_SKILLS: "#26a69a",
    Domain.HR: "#a1887f",
    Domain.SALES_CRM: "#5c6bc0",
}

LEVEL_COLORS: dict[Level, str] = {
    Level.BEGINNER: "#2e7d32",
    Level.INTERMEDIATE: "#ef6c00",
    Level.ADVANCED: "#c62828",
}

_DOMAIN_LABELS = {
    Domain.AI_ML: "AI / ML",
    Domain.DEVOPS: "DevOps",
    Domain.HR: "HR",
    Domain.IT_SUPPORT: "IT support",
    Domain.SALES_CRM: "Sales & CRM",
    Domain.UX_DESIGN: "UX design",
}
# Month names are fixed here rather than taken from strftime, which follows the process locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def px(size_pt: float) -> float:
    """A type size in points, in pixels at the charts' resolution."""
    return size_pt * DPI / 72


def line_height(size_pt: float) -> float:
    return px(size_pt) * 1.3


def lighten(color: str, amount: float) -> str:
    """The colour mixed with white; amount 0 keeps it, 1 gives white."""
    r, g, b = to_rgb(color)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


def domain_label(domain: Domain) -> str:
    return _DOMAIN_LABELS.get(domain, domain.value.replace("-", " ").capitalize())


def date_text(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def hours_text(hours: float) -> str:
    """Whole hours when whole, else one decimal: 30 h, 12.5 h."""
    return f"{hours:.0f} h" if abs(hours - round(hours)) < 0.05 else f"{hours:.1f} h"


def money_text(amount: float) -> str:
    return f"{amount:,.0f}" if abs(amount - round(amount)) < 0.005 else f"{amount:,.2f}"
