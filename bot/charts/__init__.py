"""Pictures for the bot: the plan's roadmap, a comparison of credentials and a progress card, as PNG bytes.

Rendering is CPU work with matplotlib's Agg backend and no pyplot state, so callers can run it in a thread.
"""

from bot.charts.cache import ChartCache
from bot.charts.compare import render_comparison
from bot.charts.progress_card import render_progress_card
from bot.charts.roadmap import render_roadmap

__all__ = ["ChartCache", "render_comparison", "render_progress_card", "render_roadmap"]
