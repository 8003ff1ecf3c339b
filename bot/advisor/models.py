"""The advisor's data: the person asking, and the answer it gives."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ingest.schema import Domain, Level

# The weekly study time assumed for someone who has not said theirs, in the advisor's plans and the planner's.
DEFAULT_HOURS_PER_WEEK = 5.0


class Intent(StrEnum):
    RECOMMEND = "recommend"
    COMPARE = "compare"
    CAREER_SWITCH = "career_switch"
    CREDENTIAL_INFO = "credential_info"
    GUIDANCE = "guidance"
    SMALLTALK = "smalltalk"
    ABOUT_BOT = "about_bot"  # what the bot is and can do
    CANNOT_DO = "cannot_do"  # an action the bot cannot take (book an exam, apply for a job)
    OUT_OF_SCOPE = "out_of_scope"


class Profile(BaseModel):
    """What the advisor knows about the person; every field is optional."""

    model_config = ConfigDict(extra="ignore")

    current_role: str | None = None
    target_role: str | None = None
    target_domain: Domain | None = None
    level: Level | None = None
    hours_per_week: float | None = Field(default=None, gt=0, le=80)
    budget_usd: float | None = Field(default=None, ge=0)
    preferred_providers: list[str] = Field(default_factory=list)
    experience_years: float | None = Field(default=None, ge=0, le=60)
    completed: list[str] = Field(default_factory=list, description="ids of credentials already held")


class Recommendation(BaseModel):
    id: str
    name: str
    provider: str
    domains: list[str]
    level: str
    status: str
    url: str
    reason: str = ""


class Source(BaseModel):
    id: str
    title: str
    path: str


class Facets(BaseModel):
    """What the question (plus the chat so far) asks for."""

    domains: list[Domain] = Field(default_factory=list)
    level: Level | None = None
    budget_usd: float | None = None
    free_only: bool = False
    hours_per_week: float | None = None
    providers: list[str] = Field(default_factory=list)
    vendor_neutral: bool = False
    current_role: str | None = None
    technical_background: bool = False
    background_domains: list[Domain] = Field(default_factory=list, description="fields of the current role")
    target_occupation: str | None = None
    credential_ids: list[str] = Field(default_factory=list)
    held_ids: list[str] = Field(default_factory=list, description="credentials the person says they already hold")
    experience_years: float | None = Field(default=None, description="work experience the question states")
    no_code: bool = Field(default=False, description="the person wants nothing that needs programming")


class Turn(BaseModel):
    """One exchange of the chat, kept so that follow-up questions can lean on it."""

    question: str
    intent: Intent
    facets: Facets = Field(default_factory=Facets)
    recommendation_ids: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    question: str
    intent: Intent
    in_scope: bool
    mode: str = "grounded"
    text: str
    recommendations: list[Recommendation] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    facets: Facets = Field(default_factory=Facets)
    # when the answer asks which field is meant: the likeliest fields, offered as choices
    field_choices: list[Domain] = Field(default_factory=list)
    language: str = "en"  # the language the answer is written in (ISO 639-1); English until texts are translated
    asked_in: str = "en"  # the language the question is written in

    def as_turn(self) -> Turn:
        return Turn(
            question=self.question,
            intent=self.intent,
            facets=self.facets,
            recommendation_ids=[r.id for r in self.recommendations],
        )
