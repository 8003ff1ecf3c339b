"""Words that map a question onto the knowledge base: credential names, domains, levels, roles.

Built once from the catalog, so a credential added to the knowledge base is recognised by its
name, exam code and aliases without touching code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from bot.advisor.catalog import Catalog
from ingest.schema import Credential, Domain

_MATCH_CLEAN = re.compile(r"[^a-z0-9+#]+")

# Filler that people leave out when they name a credential.
_FILLER = {"certified", "certification", "certificate", "professional certificate", "the", "exam"}
_VENDOR_PREFIXES = ("microsoft certified ", "microsoft ", "aws certified ", "google cloud certified ", "google cloud ")
_LEVEL_SUFFIXES = (" associate", " professional", " expert", " specialty", " foundation", " fundamentals")
# Single words that name a provider or a field, never one credential.
_TOO_GENERIC = {
    "aws",
    "azure",
    "google",
    "microsoft",
    "cisco",
    "comptia",
    "pmi",
    "isc2",
    "isaca",
    "oracle",
    "meta",
    "ibm",
    "cloud",
    "security",
    "data",
    "developer",
    "administrator",
    "architect",
    "analyst",
    "analytics",
    "associate",
    "professional",
    "foundations",
    "fundamentals",
    "agile",
    "scrum",
    "ux",
    "design",
    "marketing",
    "python",
    "java",
    "kubernetes",
    "terraform",
    "linux",
    "network",
    "networking",
    "project",
    "management",
    "hr",
    "sales",
    "salesforce",
    "tableau",
    "github",
    "devops",
    "ai",
    "ml",
    "it",
    "pm",
    "ba",
    "cc",
    "sec",
    "net",
    "plus",
    "leadership",
    "negotiation",
    "product",
    "tensorflow",
    "databricks",
    "snowflake",
    "hubspot",
    "seo",
}


def match_form(text: str) -> str:
    """Lower-case, keep + and # (Security+, C#), and fold every other run of symbols to a space."""
    return " " + _MATCH_CLEAN.sub(" ", text.lower().replace("&", " and ")).strip() + " "


DOMAIN_KEYWORDS: dict[Domain, tuple[str, ...]] = {
    Domain.CLOUD: (
        "cloud",
        "aws",
        "amazon web services",
        "azure",
        "gcp",
        "google cloud",
        "oci",
        "solutions architect",
        "cloud engineer",
        "serverless",
    ),
    Domain.DEVOPS: (
        "devops",
        "kubernetes",
        "k8s",
        "docker",
        "container",
        "containers",
        "terraform",
        "ci cd",
        "cicd",
        "infrastructure as code",
        "sre",
        "site reliability",
        "ansible",
        "platform engineer",
        "linux admin",
        "sysadmin",
        "red hat",
        "github actions",
    ),
    Domain.DATA_ANALYTICS: (
        "data analyst",
        "data analysis",
        "data analytics",
        "analytics",
        "power bi",
        "tableau",
        "excel",
        "sql",
        "dashboard",
        "dashboards",
        "business intelligence",
        "bi",
        "reporting",
        "looker",
        "visualization",
        "visualisation",
    ),
    Domain.DATA_ENGINEERING: (
        "data engineer",
        "data engineering",
        "etl",
        "elt",
        "data pipeline",
        "data pipelines",
        "spark",
        "databricks",
        "snowflake",
        "data warehouse",
        "lakehouse",
        "fabric",
        "big data",
        "airflow",
    ),
    Domain.AI_ML: (
        "machine learning",
        "ml",
        "ai",
        "artificial intelligence",
        "deep learning",
        "data science",
        "data scientist",
        "llm",
        "generative ai",
        "genai",
        "nlp",
        "computer vision",
        "tensorflow",
        "pytorch",
        "prompt",
        "prompting",
        "ml engineer",
        "mlops",
    ),
    Domain.CYBERSECURITY: (
        "cybersecurity",
        "cyber security",
        "cyber",
        "security",
        "infosec",
        "information security",
        "ethical hacking",
        "hacking",
        "penetration",
        "pentest",
        "pen testing",
        "soc",
        "soc analyst",
        "threat",
        "incident response",
        "grc",
        "audit",
        "risk",
        "blue team",
        "red team",
    ),
    Domain.IT_SUPPORT: (
        "it support",
        "help desk",
        "helpdesk",
        "service desk",
        "desktop support",
        "technical support",
        "tech support",
        "it technician",
        "itil",
        "troubleshooting",
        "hardware",
    ),
    Domain.NETWORKING: (
        "network",
        "networking",
        "networks",
        "routing",
        "switching",
        "cisco",
        "ccna",
        "network engineer",
        "tcp ip",
        "wireless",
        "firewall",
        "firewalls",
        "juniper",
    ),
    Domain.SOFTWARE_DEVELOPMENT: (
        "software",
        "programming",
        "programmer",
        "coding",
        "code",
        "developer",
        "web development",
        "web developer",
        "front end",
        "frontend",
        "back end",
        "backend",
        "full stack",
        "fullstack",
        "javascript",
        "python",
        "java",
        "react",
        "software engineer",
        "web design",
        "html",
        "css",
        "git",
    ),
    Domain.UX_DESIGN: (
        "ux",
        "ui",
        "user experience",
        "ux design",
        "ux designer",
        "ui design",
        "interaction design",
        "usability",
        "user research",
        "ux research",
        "product design",
        "figma",
        "design thinking",
    ),
    Domain.PROJECT_MANAGEMENT: (
        "project management",
        "project manager",
        "project coordinator",
        "pmp",
        "capm",
        "prince2",
        "pmi",
        "programme management",
        "program management",
    ),
    Domain.AGILE: ("agile", "scrum", "scrum master", "kanban", "safe", "product owner", "sprint", "lean"),
    Domain.DIGITAL_MARKETING: (
        "digital marketing",
        "marketing",
        "seo",
        "sem",
        "search engine",
        "google ads",
        "social media",
        "content marketing",
        "email marketing",
        "ppc",
        "advertising",
        "ads",
        "inbound",
        "google analytics",
        "growth marketing",
        "e commerce",
        "ecommerce",
    ),
    Domain.BUSINESS_ANALYSIS: (
        "business analysis",
        "business analyst",
        "requirements",
        "iiba",
        "process improvement",
        "stakeholder analysis",
        "business process",
    ),
    Domain.PRODUCT_MANAGEMENT: (
        "product management",
        "product manager",
        "product owner",
        "roadmap",
        "product strategy",
        "pm role",
        "product school",
    ),
    Domain.LEADERSHIP: (
        "leadership",
        "leader",
        "manager",
        "management skills",
        "new manager",
        "first time manager",
        "team lead",
        "team leader",
        "people management",
        "managing people",
        "executive",
    ),
    Domain.SOFT_SKILLS: (
        "soft skills",
        "soft skill",
        "communication",
        "negotiation",
        "negotiate",
        "emotional intelligence",
        "public speaking",
        "presentation",
        "teamwork",
        "conflict",
        "critical thinking",
        "time management",
        "presenting",
        "persuasion",
        "storytelling",
    ),
    Domain.HR: (
        "hr",
        "human resources",
        "recruiting",
        "recruiter",
        "recruitment",
        "talent acquisition",
        "people operations",
        "shrm",
        "hrci",
        "payroll",
        "employee relations",
        "hr generalist",
    ),
    Domain.SALES_CRM: (
        "sales",
        "crm",
        "salesforce",
        "hubspot sales",
        "account executive",
        "sales development",
        "sdr",
        "bdr",
        "customer success",
        "revops",
        "sales operations",
        "salesforce admin",
    ),
}

BEGINNER_WORDS = (
    "beginner",
    "beginners",
    "entry level",
    "entry",
    "no experience",
    "without experience",
    "without any experience",
    "zero experience",
    "new to",
    "starting out",
    "just starting",
    "basics",
    "basic",
    "foundational",
    "fundamentals",
    "newbie",
    "novice",
    "first cert",
    "first certification",
    "from scratch",
    "junior",
    "intro",
    "introductory",
    "easy",
    "easiest",
    "no background",
    "non technical",
    "non-technical",
)
INTERMEDIATE_WORDS = (
    "intermediate",
    "some experience",
    "a few years",
    "mid level",
    "mid-level",
    "next step",
    "next level",
)
ADVANCED_WORDS = (
    "advanced",
    "senior",
    "expert",
    "experienced",
    "years of experience",
    "lead level",
    "hardest",
    "master",
)

VENDOR_PROVIDERS = {
    "aws": "amazon",
    "amazon": "amazon",
    "azure": "microsoft",
    "microsoft": "microsoft",
    "gcp": "google",
    "google cloud": "google",
    "google": "google",
    "cisco": "cisco",
    "oracle": "oracle",
    "red hat": "red hat",
    "salesforce": "salesforce",
    "hubspot": "hubspot",
    "meta": "meta",
    "facebook": "meta",
    "ibm": "ibm",
    "comptia": "comptia",
    "pmi": "pmi",
    "isc2": "isc2",
    "isaca": "isaca",
    "scrum alliance": "scrum alliance",
    "scrum org": "scrum.org",
    "tableau": "tableau",
    "databricks": "databricks",
    "snowflake": "snowflake",
    "hashicorp": "hashicorp",
    "linux foundation": "linux foundation",
    "cncf": "linux foundation",
    "github": "github",
    "iiba": "iiba",
    "shrm": "shrm",
    "hrci": "hrci",
    "giac": "giac",
    "ec council": "ec-council",
    "offsec": "offsec",
    "peoplecert": "peoplecert",
    "axelos": "peoplecert",
    "freecodecamp": "freecodecamp",
}
# Providers whose credentials teach one company's products (vendor-neutral questions avoid them).
PRODUCT_VENDORS = {
    "amazon",
    "microsoft",
    "google",
    "cisco",
    "oracle",
    "red hat",
    "salesforce",
    "hubspot",
    "tableau",
    "databricks",
    "snowflake",
    "hashicorp",
    "github",
    "meta",
}


class FormIndex:
    """Where names in match form occur in a question, found by looking up each word of the question.

    Scanning the question once per known name grows with the catalog; this grows with the question.
    A name in match form starts with a space, so it can only occur where a word of the question
    starts, and only when that word is the name's first.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._by_first_word: dict[str, list[str]] = defaultdict(list)
        for name in names:
            words = name.split()
            if words:
                self._by_first_word[words[0]].append(name)

    def occurrences(self, form: str, start: int = 0) -> Iterator[tuple[int, str]]:
        """(position, name) of every occurrence at or after `start`, in order of position."""
        position = form.find(" ", start)
        while position != -1 and position < len(form) - 1:
            end = form.find(" ", position + 1)
            word = form[position + 1 : end if end != -1 else len(form)]
            for name in self._by_first_word.get(word, ()):
                if form.startswith(name, position):
                    yield position, name
            position = end


@dataclass
class Vocabulary:
    credential_forms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    occupation_forms: dict[str, str] = field(default_factory=dict)  # names that mean the role inside a sentence
    occupation_titles: dict[str, str] = field(default_factory=dict)  # every title and alias, however common
    role_forms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # from_role -> guide ids

    # Lookups derived from the forms above, built on first use: a vocabulary is not changed once built.
    @cached_property
    def credential_index(self) -> FormIndex:
        return FormIndex(self.credential_forms)

    @cached_property
    def occupation_index(self) -> FormIndex:
        return FormIndex(self.occupation_forms)

    @cached_property
    def forms_of_credential(self) -> dict[str, list[str]]:
        """credential id -> its forms."""
        by_id: dict[str, list[str]] = defaultdict(list)
        for name, ids in self.credential_forms.items():
            for cid in ids:
                by_id[cid].append(name)
        return dict(by_id)

    @cached_property
    def credential_form_rank(self) -> dict[str, int]:
        """Each credential form's place when all are ordered longest first, ties as they were added."""
        longest_first = sorted(self.credential_forms, key=lambda name: -len(name))
        return {name: rank for rank, name in enumerate(longest_first)}

    @cached_property
    def roles_longest_first(self) -> list[tuple[str, set[str]]]:
        return sorted(self.role_forms.items(), key=lambda kv: -len(kv[0]))

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Vocabulary:
        vocab = cls()
        for cred in catalog.credentials.values():
            for form in credential_forms(cred):
                vocab.credential_forms[form].add(cred.id)
        # a name two occupations share names the one with the smaller id (see bot/advisor/matching.py)
        for occ_id in sorted(catalog.occupations):
            occ = catalog.occupations[occ_id]
            for name in [occ.title, *occ.aliases]:
                form = match_form(name)
                if not form.strip():
                    continue
                vocab.occupation_titles.setdefault(form, occ.id)
                if form.strip() not in _TOO_GENERIC:
                    vocab.occupation_forms.setdefault(form, occ.id)
        for chunk in catalog.chunks:
            if chunk.kind == "guide" and chunk.meta.get("guide_kind") == "career-switch":
                for role in chunk.listed("from_roles"):
                    form = match_form(role)
                    if form.strip():
                        vocab.role_forms[form].add(chunk.record_id)
        return vocab


def _distinctive(form: str, original: str) -> bool:
    """A name form is usable on its own when it cannot be mistaken for ordinary words."""
    words = form.split()
    if not words:
        return False
    if len(words) >= 2:
        return not all(w in _TOO_GENERIC for w in words)
    word = words[0]
    if word in _TOO_GENERIC:
        return False
    if any(ch.isdigit() for ch in word) or "+" in word:
        return len(word) >= 2
    # single words count when the source spells them as an acronym (CISSP, CAPM, GAIQ)
    return len(word) >= 3 and original.strip().isupper()


def credential_forms(cred: Credential) -> set[str]:
    """Every way people write this credential, in match form."""
    forms: set[str] = set()
    names = [cred.name, *cred.codes, *cred.aliases]
    official = match_form(cred.name)
    if len(official.split()) >= 2:
        # the full official name always identifies the credential, however ordinary its words
        forms.add(official)
    for alias in cred.aliases:
        # a curator listed this name for this credential; two words or more are not ordinary chatter
        if len(match_form(alias).split()) >= 2:
            forms.add(match_form(alias))
    for original in names:
        base = match_form(original)
        candidates = {base, base.replace("+", " plus ")}
        stripped = base
        for filler in _FILLER:
            stripped = stripped.replace(f" {filler} ", " ")
        candidates.add(stripped)
        for prefix in _VENDOR_PREFIXES:
            if stripped.startswith(" " + prefix):
                shorter = " " + stripped[len(prefix) + 1 :]
                candidates.add(shorter)
                for suffix in _LEVEL_SUFFIXES:
                    if shorter.endswith(suffix + " ") and len(shorter.split()) > 2:
                        candidates.add(shorter[: -len(suffix) - 1] + " ")
        for form in list(candidates):
            # the first level of a numbered series is often named without its number ("PSM" for PSM I)
            for first in (" i ", " 1 "):
                if form.endswith(first) and len(form.split()) >= 2:
                    candidates.add(form[: -len(first)] + " ")
        for form in candidates:
            clean = " " + " ".join(form.split()) + " "
            if _distinctive(clean, original):
                forms.add(clean)
    return forms
