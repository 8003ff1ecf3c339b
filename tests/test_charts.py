"""Charts drawn from real plans of the real knowledge base: decoded, measured and compared pixel by pixel."""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from bot.advisor.catalog import Catalog
from bot.advisor.models import Profile
from bot.charts import ChartCache, render_comparison, render_progress_card, render_roadmap
from bot.charts.cache import roadmap_key
from bot.charts.compare import cost_label
from bot.charts.fonts import ELLIPSIS, MISSING, TextFitter, drawable, families, font
from bot.charts.progress_card import DONE, card_figures
from bot.charts.sheet import PNG_SIGNATURE
from bot.charts.style import DOMAIN_COLORS, WIDTH
from bot.planner.builder import build_plan
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from ingest.schema import Credential, Domain
from tests.conftest import REAL_KNOWLEDGE
from tests.support.catalogs import catalog_of

TODAY = dt.date(2026, 3, 2)
UNICODE_NAMES = [
    "Introduction to Negotiation: A Strategic Playbook for Becoming a Principled and Persuasive Negotiator "
    "(with a very long subtitle that no single line on a phone could ever hold)",
    "Análisis de datos — Café Ñandú, Zürich, Øresund, Łódź",
    "数据分析师认证 Data Analyst",
    "データサイエンティスト検定リテラシーレベル",  # one CJK run with no spaces to break at
    "Cloud 🚀 Launch 👩‍💻 (emoji, ZWJ sequence and variation selector ☁️)",
    "Costs $100 to $300, not \\frac{1}{2} mathtext",
    "Line\nbreak\tand\u200bzero-width",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_of(REAL_KNOWLEDGE)


@pytest.fixture(scope="module")
def plan(catalog: Catalog) -> LearningPlan:
    return build_plan(catalog, Profile(target_role="cloud engineer", hours_per_week=5), TODAY)


def long_plan(catalog: Catalog, count: int, names: list[str] | None = None) -> LearningPlan:
    """A plan of `count` real credentials back to back (the builder stops at a few steps)."""
    credentials = sorted(catalog.credentials.values(), key=lambda c: c.id)[:count]
    steps, week = [], 1
    for position, credential in enumerate(credentials, start=1):
        weeks = max(1, math.ceil(credential.hours.min / 8))
        name = names[position - 1] if names and position <= len(names) else credential.name
        steps.append(
            PlanStep(
                position=position,
                credential_id=credential.id,
                credential_name=name,
                start_week=week,
                end_week=week + weeks - 1,
                study_hours=credential.hours.min,
                milestone=f"Pass {name}",
            )
        )
        week += weeks
    return LearningPlan(target_label="Everything", hours_per_week=8, created_on=TODAY, steps=steps)


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def size_of(png: bytes) -> tuple[int, int]:
    pixels = decode(png)
    return pixels.shape[1], pixels.shape[0]


def count_color(pixels: np.ndarray, color: str) -> int:
    target = np.array([round(c * 255) for c in to_rgb(color)], dtype=np.uint8)
    return int(np.all(pixels == target, axis=-1).sum())


def png_chunk_types(png: bytes) -> list[bytes]:
    types, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        types.append(png[offset + 4 : offset + 8])
        offset += 12 + length
    return types


@contextmanager
def no_warnings() -> Iterator[None]:
    """Fails on any warning but the third-party deprecations the suite ignores anyway."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    relevant = [w for w in caught if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)]
    assert [str(w.message) for w in relevant] == []


# --- the roadmap ------------------------------------------------------------------------------


def test_roadmap_is_a_png_1080_pixels_wide(plan: LearningPlan, catalog: Catalog) -> None:
    progress = {plan.steps[0].credential_id: StepStatus.COMPLETED, plan.steps[1].credential_id: StepStatus.STARTED}
    png = render_roadmap(plan, progress, catalog, TODAY + dt.timedelta(weeks=8))
    width, height = size_of(png)
    assert width == WIDTH == 1080
    assert height > 600


def test_roadmap_grows_with_its_steps(catalog: Catalog) -> None:
    heights = [size_of(render_roadmap(long_plan(catalog, n), {}, catalog, TODAY))[1] for n in (1, 5, 20)]
    assert heights == sorted(heights)
    assert len(set(heights)) == 3
    assert heights[-1] < 10_000 - WIDTH  # Telegram's limit on a photo's width plus height


def test_long_and_unicode_names_render_without_warnings(catalog: Catalog) -> None:
    plan = long_plan(catalog, 20, names=UNICODE_NAMES).model_copy(update={"target_label": "数据 Analyst 🚀"})
    progress = {step.credential_id: StepStatus.COMPLETED for step in plan.steps[:3]}
    with no_warnings():
        roadmap = render_roadmap(plan, progress, catalog, TODAY + dt.timedelta(weeks=10))
        card = render_progress_card(plan, progress)
    assert size_of(roadmap)[0] == size_of(card)[0] == WIDTH


def test_matplotlib_warns_for_missing_glyphs_when_text_is_not_cleaned() -> None:
    """The check above can fail: raw CJK text through matplotlib does warn on this machine."""
    if len(families()) > 1:
        pytest.skip("a CJK font is installed, so matplotlib has the glyphs")
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.1, 0.5, "数据分析", fontproperties=font(20))
    with pytest.warns(UserWarning, match="missing from font"):
        figure.savefig(io.BytesIO(), format="png")


def test_roadmap_shows_done_steps_as_solid_bars(catalog: Catalog) -> None:
    plan = long_plan(catalog, 4)
    colours = {DOMAIN_COLORS[catalog.credentials[s.credential_id].primary_domain] for s in plan.steps}
    done = {step.credential_id: StepStatus.COMPLETED for step in plan.steps}
    solid = decode(render_roadmap(plan, done, catalog, TODAY))
    outlined = decode(render_roadmap(plan, {}, catalog, TODAY))
    # an upcoming bar is an outline; a done bar fills the same box with its domain's colour
    for colour in colours:
        assert count_color(solid, colour) > 1.5 * count_color(outlined, colour)
    assert sum(count_color(solid, c) for c in colours) > 2 * sum(count_color(outlined, c) for c in colours)


def test_roadmap_handles_unknown_credentials_and_today_off_the_timeline(plan: LearningPlan, catalog: Catalog) -> None:
    unknown = plan.model_copy(
        update={"steps": [plan.steps[0].model_copy(update={"credential_id": "not-in-the-catalog"}), *plan.steps[1:]]}
    )
    with no_warnings():
        for today in (TODAY - dt.timedelta(days=30), TODAY, TODAY + dt.timedelta(weeks=500)):
            assert size_of(render_roadmap(unknown, {}, catalog, today))[0] == WIDTH
        empty = plan.model_copy(update={"steps": []})
        assert size_of(render_roadmap(empty, {}, catalog, TODAY))[0] == WIDTH


def test_charts_are_the_same_bytes_for_the_same_input(plan: LearningPlan, catalog: Catalog) -> None:
    progress = {plan.steps[0].credential_id: StepStatus.COMPLETED}
    credentials = [catalog.credentials[s.credential_id] for s in plan.steps[:3]]
    for draw in (
        lambda today: render_roadmap(plan, progress, catalog, today),
        lambda today: render_progress_card(plan, progress),
        lambda today: render_comparison(credentials),
    ):
        first, second = draw(TODAY), draw(TODAY)
        assert first == second
        # no text chunks: no "Software: matplotlib x.y" that would change with the version
        assert not {b"tEXt", b"iTXt", b"zTXt"} & set(png_chunk_types(first))
    later = render_roadmap(plan, progress, catalog, TODAY + dt.timedelta(weeks=3))
    assert later != render_roadmap(plan, progress, catalog, TODAY)


def test_charts_render_the_same_in_parallel_threads(plan: LearningPlan, catalog: Catalog) -> None:
    progress = {plan.steps[0].credential_id: StepStatus.STARTED}
    expected = render_roadmap(plan, progress, catalog, TODAY)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: render_roadmap(plan, progress, catalog, TODAY), range(6)))
    assert all(result == expected for result in results)


# --- the comparison ---------------------------------------------------------------------------


def by_currency(catalog: Catalog, currency: str) -> Credential:
    return next(c for c in sorted(catalog.credentials.values(), key=lambda c: c.id) if c.cost.currency == currency)


def test_comparison_with_a_non_usd_credential(catalog: Catalog) -> None:
    usd = [catalog.credentials["aws-certified-cloud-practitioner"], catalog.credentials["cncf-cka"]]
    other = by_currency(catalog, "GBP")
    free = next(c for c in catalog.credentials.values() if c.is_free)
    with no_warnings():
        for credentials in ([*usd, other], [usd[0], other], [*usd, other, free]):
            width, height = size_of(render_comparison(credentials))
            assert width == WIDTH
            assert height > 500
    assert "other currency" in cost_label(other)
    assert "GBP" in cost_label(other)
    assert "other currency" not in cost_label(usd[0])
    assert "USD" in cost_label(usd[0])
    assert cost_label(free) == "free"


def test_comparison_height_grows_and_rejects_an_empty_list(catalog: Catalog) -> None:
    credentials = sorted(catalog.credentials.values(), key=lambda c: c.id)
    two, four = (size_of(render_comparison(credentials[:n]))[1] for n in (2, 4))
    assert four > two
    with pytest.raises(ValueError, match="compare"):
        render_comparison([])


# --- the progress card ------------------------------------------------------------------------


def ring_pixels(png: bytes) -> int:
    """Green pixels in the card's left part, where only the ring is drawn."""
    pixels = decode(png)
    return count_color(pixels[:, : pixels.shape[1] * 2 // 5], DONE)


def test_progress_card_with_every_step_completed_shows_100_percent(plan: LearningPlan) -> None:
    done = {step.credential_id: StepStatus.COMPLETED for step in plan.steps}
    figures = card_figures(plan, done)
    assert figures.percent == 100
    assert figures.done == figures.total == len(plan.steps)
    assert figures.hours_done == figures.hours_planned == sum(s.study_hours for s in plan.steps)
    assert figures.next_line.startswith("Every step is done")
    half = {step.credential_id: StepStatus.COMPLETED for step in plan.steps[:2]}
    half |= {step.credential_id: StepStatus.SKIPPED for step in plan.steps[3:]}  # 2 of 3 counted steps
    full, two_thirds, none = (ring_pixels(render_progress_card(plan, p)) for p in (done, half, {}))
    assert none == 0
    assert two_thirds == pytest.approx(full * 2 / 3, rel=0.03)


def test_progress_card_counts_hours_of_completed_steps(plan: LearningPlan) -> None:
    first, second = plan.steps[0], plan.steps[1]
    progress = {first.credential_id: StepStatus.COMPLETED, second.credential_id: StepStatus.STARTED}
    figures = card_figures(plan, progress)
    assert figures.hours_done == first.study_hours
    assert figures.hours_planned == sum(s.study_hours for s in plan.steps)
    assert figures.next_line == f"Now: {second.credential_name}"
    assert size_of(render_progress_card(plan, progress))[0] == WIDTH


# --- text fitting -----------------------------------------------------------------------------


def test_drawable_keeps_accents_boxes_missing_letters_and_drops_emoji() -> None:
    if len(families()) > 1:
        pytest.skip("a CJK font is installed")
    assert drawable("Café Ñandú") == "Café Ñandú"
    assert drawable("e\u0301") == "é"  # decomposed accents are composed first
    assert drawable("数据 Analyst") == f"{MISSING * 2} Analyst"
    assert drawable("Go 🚀 👩‍💻 ☁️ now") == "Go ☁ now"  # the cloud is in DejaVu, the rest is not
    assert drawable("a\nb\tc\u200bd") == "a b cd"


@pytest.mark.parametrize("text", UNICODE_NAMES)
def test_wrapped_lines_fit_the_width(text: str) -> None:
    fitter, prop, width = TextFitter(), font(24, bold=True), 500.0
    lines = fitter.wrap(drawable(text, bold=True), prop, width, max_lines=2)
    assert 1 <= len(lines) <= 2
    assert all(0 < fitter.width(line, prop) <= width for line in lines)


def test_overflowing_text_is_ellipsized() -> None:
    fitter, prop = TextFitter(), font(20)
    lines = fitter.wrap(UNICODE_NAMES[0], prop, 400, max_lines=2)
    assert len(lines) == 2
    assert lines[-1].endswith(ELLIPSIS)
    assert fitter.ellipsize("short", prop, 400) == "short"


# --- the cache --------------------------------------------------------------------------------


def counting(render: Callable[[], bytes]) -> tuple[Callable[[], bytes], list[int]]:
    calls: list[int] = []

    def wrapped() -> bytes:
        calls.append(1)
        return render()

    return wrapped, calls


def test_cache_hit_returns_the_same_bytes_without_rendering(plan: LearningPlan, catalog: Catalog) -> None:
    cache = ChartCache(max_entries=4)
    render, calls = counting(lambda: render_roadmap(plan, {}, catalog, TODAY))
    key = roadmap_key(plan, {}, catalog, TODAY)
    first = cache.get_or_render(key, render)
    second = cache.get_or_render(key, render)
    assert second is first
    assert len(calls) == 1
    assert (cache.renders, cache.hits) == (1, 1)


def test_cache_keys_follow_what_the_chart_shows(plan: LearningPlan, catalog: Catalog) -> None:
    cache = ChartCache()
    first = cache.roadmap(plan, {}, catalog, TODAY)
    assert cache.roadmap(plan, {"some-other-credential": StepStatus.COMPLETED}, catalog, TODAY) is first
    assert cache.renders == 1
    started = {plan.steps[0].credential_id: StepStatus.STARTED}
    assert cache.roadmap(plan, started, catalog, TODAY) != first
    assert cache.roadmap(plan, {}, catalog, TODAY + dt.timedelta(days=1)) is not first
    assert cache.roadmap(plan.model_copy(update={"hours_per_week": 9.0}), {}, catalog, TODAY) is not first
    assert cache.renders == 4
    card = cache.progress_card(plan, started)
    assert cache.progress_card(plan, started) is card
    credentials = [catalog.credentials[s.credential_id] for s in plan.steps[:2]]
    comparison = cache.comparison(credentials)
    assert cache.comparison(list(credentials)) is comparison
    assert cache.renders == 6


def test_cache_evicts_the_least_recently_used() -> None:
    cache = ChartCache(max_entries=2)
    cache.get_or_render("a", lambda: b"a")
    cache.get_or_render("b", lambda: b"b")
    cache.get_or_render("a", lambda: b"a")  # a is now the most recent
    cache.get_or_render("c", lambda: b"c")
    assert "a" in cache
    assert "b" not in cache
    assert len(cache) == 2
    with pytest.raises(ValueError, match="max_entries"):
        ChartCache(max_entries=0)


def test_cache_renders_once_for_threads_asking_at_once(plan: LearningPlan, catalog: Catalog) -> None:
    cache = ChartCache()
    render, calls = counting(lambda: render_roadmap(plan, {}, catalog, TODAY))
    start = threading.Barrier(4)

    def ask(_: int) -> bytes:
        start.wait()
        return cache.get_or_render("same", render)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(ask, range(4)))
    assert len(calls) == 1
    assert all(result is results[0] for result in results)


def test_cache_does_not_keep_a_failed_render() -> None:
    cache = ChartCache()

    def broken() -> bytes:
        raise RuntimeError("no luck")

    with pytest.raises(RuntimeError, match="no luck"):
        cache.get_or_render("key", broken)
    assert "key" not in cache
    assert cache.get_or_render("key", lambda: b"ok") == b"ok"


def test_domain_colours_cover_every_domain() -> None:
    assert set(DOMAIN_COLORS) == set(Domain)
    assert len(set(DOMAIN_COLORS.values())) == len(Domain)
