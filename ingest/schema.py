"""Pydantic models for the knowledge base: credentials, occupations and guides.

Field names follow Credential Engine CTDL concepts where one exists
(ownedBy -> provider, estimatedDuration -> hours, estimatedCost -> cost).
Unknown fields are rejected so that a typo in a YAML key fails loudly.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
OnetCode = Annotated[str, StringConstraints(pattern=r"^\d{2}-\d{4}\.\d{2}$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Domain(StrEnum):
    CLOUD = "cloud"
    DEVOPS = "devops"
    DATA_ANALYTICS = "data-analytics"
    DATA_ENGINEERING = "data-engineering"
    AI_ML = "ai-ml"
    CYBERSECURITY = "cybersecurity"
    IT_SUPPORT = "it-support"
    NETWORKING = "networking"
    SOFTWARE_DEVELOPMENT = "software-development"
    UX_DESIGN = "ux-design"
    PROJECT_MANAGEMENT = "project-management"
    AGILE = "agile"
    DIGITAL_MARKETING = "digital-marketing"
    BUSINESS_ANALYSIS = "business-analysis"
    PRODUCT_MANAGEMENT = "product-management"
    LEADERSHIP = "leadership"
    SOFT_SKILLS = "soft-skills"
    HR = "hr"
    SALES_CRM = "sales-crm"


class Level(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class CredentialType(StrEnum):
    CERTIFICATION = "certification"
    PROFESSIONAL_CERTIFICATE = "professional-certificate"
    BADGE = "badge"
    COURSE_CERTIFICATE = "course-certificate"
    MICRO_CREDENTIAL = "micro-credential"


class Delivery(StrEnum):
    ONLINE = "online"
    SELF_PACED = "self-paced"
    INSTRUCTOR_LED = "instructor-led"
    IN_PERSON = "in-person"
    PROCTORED_EXAM = "proctored-exam"
    ONLINE_PROCTORED = "online-proctored"
    TEST_CENTER = "test-center"
    HANDS_ON_LAB = "hands-on-lab"


class Status(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class HoursRange(Strict):
    """Typical study time, in hours, for someone meeting the prerequisites."""

    min: int = Field(ge=0, le=5000)
    max: int = Field(ge=0, le=5000)
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> HoursRange:
        if self.min > self.max:
            raise ValueError(f"hours.min ({self.min}) is greater than hours.max ({self.max})")
        return self


class CostRange(Strict):
    """What the credential typically costs and what that money buys."""

    min: float = Field(ge=0)
    max: float = Field(ge=0)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    covers: NonEmpty
    varies: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> CostRange:
        if self.min > self.max:
            raise ValueError(f"cost.min ({self.min}) is greater than cost.max ({self.max})")
        return self


def _https(url: str) -> str:
    if not url.startswith("https://"):
        raise ValueError("url must start with https://")
    return url


class Credential(Strict):
    id: Slug
    name: NonEmpty
    provider: NonEmpty
    credential_type: CredentialType
    codes: list[NonEmpty] = Field(default_factory=list, description="Exam codes such as AZ-104")
    aliases: list[NonEmpty] = Field(
        default_factory=list, description="Abbreviations and common names such as SAA, Sec+"
    )
    domains: list[Domain] = Field(min_length=1)
    level: Level
    hours: HoursRange
    cost: CostRange
    delivery: list[Delivery] = Field(min_length=1)
    prerequisites: list[NonEmpty] = Field(default_factory=list)
    prerequisite_ids: list[Slug] = Field(
        default_factory=list, description="Catalog credentials required or strongly advised first"
    )
    experience_years: int = Field(default=0, ge=0, le=20, description="Work experience required")
    skills: list[NonEmpty] = Field(min_length=1)
    occupations: list[OnetCode] = Field(min_length=1)
    status: Status = Status.ACTIVE
    replaced_by: Slug | None = None
    url: str
    renewal: NonEmpty
    last_verified: dt.date
    summary: NonEmpty

    @field_validator("url")
    @classmethod
    def _url_is_https(cls, value: str) -> str:
        return _https(value)

    @field_validator("domains")
    @classmethod
    def _unique_domains(cls, value: list[Domain]) -> list[Domain]:
        if len(set(value)) != len(value):
            raise ValueError("domains are repeated")
        return value

    @model_validator(mode="after")
    def _retirement(self) -> Credential:
        if self.replaced_by is not None and self.status is not Status.RETIRED:
            raise ValueError("replaced_by is only allowed on a retired credential")
        if self.replaced_by == self.id:
            raise ValueError("a credential cannot replace itself")
        return self

    @property
    def primary_domain(self) -> Domain:
        return self.domains[0]

    @property
    def is_free(self) -> bool:
        return self.cost.max == 0


class PathwayStage(StrEnum):
    FIRST = "first"
    NEXT = "next"
    LATER = "later"


class PathwayStep(Strict):
    credential: Slug
    stage: PathwayStage
    why: NonEmpty


class Occupation(Strict):
    id: Slug
    title: NonEmpty
    onet_soc: OnetCode
    aliases: list[NonEmpty] = Field(default_factory=list)
    domains: list[Domain] = Field(min_length=1)
    summary: NonEmpty
    core_skills: list[NonEmpty] = Field(min_length=3)
    entry_routes: list[NonEmpty] = Field(min_length=1)
    pathway: list[PathwayStep] = Field(min_length=2)
    last_verified: dt.date


class GuideKind(StrEnum):
    CAREER_SWITCH = "career-switch"
    GUIDANCE = "guidance"


# The short fields a career-switch guide offers to be quoted as they stand, one per part of the answer.
SWITCH_QUOTE_FIELDS = ("strengths", "gaps", "portfolio_ideas", "pitfalls")
QUOTE_FIELDS = (*SWITCH_QUOTE_FIELDS, "key_points")
QUOTE_MIN_CHARS, QUOTE_MAX_CHARS = 40, 200
QUOTES_MIN, QUOTES_MAX = 2, 4
_LIST_MARKER = re.compile(r"^(?:[-*+\u2022]|\d+[.)])\s")
# Words that point at text around the sentence, which a quote does not bring along.
_POINTS_ELSEWHERE = re.compile(r"\b(?:these|the following|as follows)\b", re.IGNORECASE)
_LEAD_IN = re.compile(r"^(?:this|that|it|such|for example|for instance|e\.g\.)\b", re.IGNORECASE)


def quote_problem(item: str) -> str | None:
    """Why a sentence cannot be quoted on its own, or None when it can."""
    if not item:
        return "is empty"
    if _LIST_MARKER.match(item):
        return "starts with a list marker; write a sentence, not a list item"
    if "**" in item or "`" in item:
        return "contains Markdown; quotable fields are plain text"
    if not (item[0].isupper() or item[0].isdigit()):
        return "does not start with a capital letter or a digit"
    if item.endswith(":"):
        return "ends with ':', which introduces a list instead of saying something"
    if not item.endswith((".", "!", "?")):
        return "does not end with '.', '!' or '?'"
    if "|" in item or "\n" in item:
        return "contains '|' or a line break, which the index cannot keep in a list"
    if _POINTS_ELSEWHERE.search(item) or _LEAD_IN.match(item):
        return "leans on text around it ('these', 'the following', 'For example', 'This'); it must stand on its own"
    if not QUOTE_MIN_CHARS <= len(item) <= QUOTE_MAX_CHARS:
        return f"is {len(item)} characters; a quotable sentence has {QUOTE_MIN_CHARS}-{QUOTE_MAX_CHARS}"
    return None


class GuideMeta(Strict):
    """Front matter of a Markdown guide.

    A career-switch guide carries short sentences written to be quoted as they stand (what the reader
    already brings, the gap, portfolio ideas, pitfalls), because prose cut out of a section rarely reads
    well alone. A guidance guide may carry `key_points` the same way.
    """

    id: Slug
    title: NonEmpty
    kind: GuideKind
    summary: NonEmpty
    from_roles: list[NonEmpty] = Field(default_factory=list)
    to_occupations: list[Slug] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    credentials: list[Slug] = Field(default_factory=list)
    keywords: list[NonEmpty] = Field(default_factory=list)
    strengths: list[str] = Field(default_factory=list, description="What the reader already brings")
    gaps: list[str] = Field(default_factory=list, description="What the reader still has to learn")
    portfolio_ideas: list[str] = Field(default_factory=list, description="Projects that show the new skills")
    pitfalls: list[str] = Field(default_factory=list, description="Mistakes to avoid")
    key_points: list[str] = Field(default_factory=list, description="A guidance guide's main points")
    last_verified: dt.date

    @field_validator(*QUOTE_FIELDS)
    @classmethod
    def _quotable(cls, items: list[str], info: ValidationInfo) -> list[str]:
        guide = info.data.get("id", "this guide")
        if len(items) > QUOTES_MAX:
            raise ValueError(f"guide {guide}: {info.field_name} has {len(items)} items; at most {QUOTES_MAX}")
        for number, item in enumerate(items, 1):
            problem = quote_problem(item.strip())
            if problem is not None:
                raise ValueError(f"guide {guide}: {info.field_name} item {number} ({item!r}) {problem}")
        return [item.strip() for item in items]

    @model_validator(mode="after")
    def _quotes_fit_the_kind(self) -> GuideMeta:
        if self.kind is GuideKind.CAREER_SWITCH:
            for name in SWITCH_QUOTE_FIELDS:
                count = len(getattr(self, name))
                if count < QUOTES_MIN:
                    raise ValueError(
                        f"guide {self.id}: a career-switch guide needs {QUOTES_MIN}-{QUOTES_MAX} {name} "
                        f"(one quotable sentence each); it has {count}"
                    )
            if self.key_points:
                raise ValueError(f"guide {self.id}: key_points belong to guidance guides; use the four switch fields")
        else:
            for name in SWITCH_QUOTE_FIELDS:
                if getattr(self, name):
                    raise ValueError(f"guide {self.id}: {name} belongs to career-switch guides only")
        return self


class GuideSection(Strict):
    heading: str
    text: str


class Guide(Strict):
    meta: GuideMeta
    path: str
    sections: list[GuideSection]


_CODE_NORMALISER = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case and fold runs of non-alphanumerics to one space (the eval's matching rule)."""
    return _CODE_NORMALISER.sub(" ", text.lower()).strip()
