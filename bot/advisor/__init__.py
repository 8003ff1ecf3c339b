"""The advisor: understand a question, retrieve from the knowledge index, rank, compose."""

from bot.advisor.models import Answer, Intent, Profile, Recommendation, Source, Turn
from bot.advisor.service import Advisor

__all__ = ["Advisor", "Answer", "Intent", "Profile", "Recommendation", "Source", "Turn"]
