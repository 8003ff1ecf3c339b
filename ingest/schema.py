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

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

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


class GuideMeta(Strict):
    """Front matter of a Markdown guide."""

    id: Slug
    title: NonEmpty
    kind: GuideKind
    summary: NonEmpty
    from_roles: list[NonEmpty] = Field(default_factory=list)
    to_occupations: list[Slug] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    credentials: list[Slug] = Field(default_factory=list)
    keywords: list[NonEmpty] = Field(default_factory=list)
    last_verified: dt.date


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
