"""Whether someone can sit a credential yet, from the work experience its record requires.

Records state the least experience they ask for (`experience_years`); their prerequisites say which
experience counts. A person's experience comes from the question ("with 2 years of experience") or
their profile. When neither says, nothing is assumed: the answer states the requirement instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.advisor.amounts import MONTHS_A_YEAR
from bot.advisor.models import Facets, Profile
from ingest.schema import Credential


@dataclass(frozen=True)
class Eligibility:
    credential: Credential
    have_years: float | None  # None: the person has not said

    @property
    def required_years(self) -> int:
        return self.credential.experience_years

    @property
    def short_of_experience(self) -> bool:
        """Known not to meet the experience the credential asks for."""
        return self.have_years is not None and self.have_years < self.required_years

    @property
    def years_to_go(self) -> float:
        return max(0.0, self.required_years - (self.have_years or 0.0))


def eligibility(credential: Credential, have_years: float | None) -> Eligibility:
    return Eligibility(credential, have_years)


def stated_experience(facets: Facets, profile: Profile | None) -> float | None:
    """Years of experience from the question, else from the profile; None when neither says."""
    if facets.experience_years is not None:
        return facets.experience_years
    return profile.experience_years if profile else None


def years_text(years: float) -> str:
    """'1 year', '3 years', '18 months', '6 months': how people say a span of experience."""
    if years < 1 or (years < 3 and abs(years * MONTHS_A_YEAR - round(years * MONTHS_A_YEAR)) < 0.01 and years % 1):
        months = round(years * MONTHS_A_YEAR)
        return f"{months} month" + ("s" if months != 1 else "")
    whole = round(years, 1)
    shown = int(whole) if whole == int(whole) else whole
    return f"{shown} year" + ("s" if shown != 1 else "")
