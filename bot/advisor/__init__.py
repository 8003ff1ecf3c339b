"""The advisor: understand a question, retrieve from the knowledge index, rank, compose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.advisor.models import Answer, Intent, Profile, Recommendation, Source, Turn

if TYPE_CHECKING:
    from bot.advisor.service import Advisor

__all__ = ["Advisor", "Answer", "Intent", "Profile", "Recommendation", "Source", "Turn"]


def __getattr__(name: str) -> Any:
    # The service pulls in Chroma and the embedding stack; parts that only need the data models
    # (the store, the planner) should not pay for that on import.
    if name == "Advisor":
        from bot.advisor.service import Advisor

        return Advisor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
