"""Ranking: relevance from retrieval combined with fit to the person and the question.

Every adjustment is a named, small number so that the order can be explained in one line per
credential ("beginner level, fits your budget").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from bot.advisor.catalog import Catalog
from bot.advisor.eligibility import eligibility, stated_experience
from bot.advisor.matching import provider_key
from bot.advisor.models import Facets, Intent, Profile
from bot.advisor.vocabulary import Vocabulary
from ingest.schema import Credential, Level, Status

NAMED_BONUS = 5.0
PATHWAY_BONUS = {"first": 1.2, "next": 0.7, "later": 0.35}
PRIMARY_DOMAIN_BONUS = 0.7
SECONDARY_DOMAIN_BONUS = 0.3
OFF_DOMAIN_PENALTY = 0.6
LEVEL_STEP_PENALTY = 0.4
UNSTATED_LEVEL_PENALTY = {Level.BEGINNER: 0.0, Level.INTERMEDIATE: 0.05, Level.ADVANCED: 0.35}
OVER_BUDGET_PENALTY = 0.9
NOT_FREE_PENALTY = 1.2
TOO_LONG_PENALTY = 0.3
EXPERIENCE_PENALTY = 0.5
CANNOT_SIT_YET_PENALTY = 2.0  # more than any fit bonus short of being named: never recommend what cannot be sat yet
PROVIDER_BONUS = 0.45
VENDOR_NEUTRAL_PENALTY = 0.45
GUIDE_MENTION_BONUS = 0.25
BELOW_HELD_PENALTY = 1.0  # more than a level step: someone who holds a credential does not go back to its basics
PREREQUISITE_HELD_BONUS = 0.4
NEEDS_CODING_PENALTY = 1.5  # more than a first step's place on a pathway: "if I can't code" rules programming out
MAX_WEEKS_REASONABLE = 26


@dataclass
class Candidate:
    credential: Credential
    relevance: float = 0.0
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    replaced: Credential | None = None  # the retired credential this one stands in for


@dataclass(frozen=True)
class Wants:
    """What the person wants, from the question first and the profile second."""

    level: Level | None
    budget_usd: float | None
    free_only: bool
    hours_per_week: float | None
    providers: list[str]
    vendor_neutral: bool
    experience_years: float | None
    completed: frozenset[str]
    technical_background: bool = False

    @classmethod
    def of(cls, facets: Facets, profile: Profile | None, vocab: Vocabulary) -> Wants:
        experience = stated_experience(facets, profile)
        profile = profile or Profile()
        return cls(
            level=facets.level or profile.level,
            budget_usd=facets.budget_usd if facets.budget_usd is not None else profile.budget_usd,
            free_only=facets.free_only,
            hours_per_week=facets.hours_per_week or profile.hours_per_week,
            providers=facets.providers or [provider_key(p, vocab) for p in profile.preferred_providers],
            vendor_neutral=facets.vendor_neutral,
            experience_years=experience,
            completed=frozenset([*profile.completed, *facets.held_ids]),
            technical_background=facets.technical_background,
        )

    def switch_level(self) -> Level:
        """The level a career switcher starts at when they did not say: past the basics if they already work in tech."""
        return Level.INTERMEDIATE if self.technical_background else Level.BEGINNER


def rank(
    catalog: Catalog,
    relevance: dict[str, float],
    facets: Facets,
    profile: Profile | None,
    intent: Intent,
    *,
    pathway: Sequence[tuple[str, str]] = (),
    guide_mentions: Sequence[str] = (),
) -> list[Candidate]:
    """Order candidate credentials; retired ones are replaced by their successors."""
    wants = Wants.of(facets, profile, catalog.vocabulary)
    builds_on = _next_steps_of_held(wants, catalog)
    pool: dict[str, Candidate] = {}

    def add(cred_id: str) -> Candidate | None:
        cred = catalog.credentials.get(cred_id)
        if cred is None:
            return None
        if cred_id not in pool:
            pool[cred_id] = Candidate(cred, relevance=relevance.get(cred_id, 0.0))
        return pool[cred_id]

    for cred_id in relevance:
        add(cred_id)
    for cred_id in facets.credential_ids:
        add(cred_id)
    for cred_id, _ in pathway:
        add(cred_id)
    for cred_id in guide_mentions:
        add(cred_id)

    top_relevance = max((c.relevance for c in pool.values()), default=0.0) or 1.0
    stages = dict(pathway)
    for cand in pool.values():
        cred = cand.credential
        score = cand.relevance / top_relevance
        if cred.id in facets.credential_ids:
            score += NAMED_BONUS
        stage = stages.get(cred.id)
        if stage:
            score += PATHWAY_BONUS[stage] * (1.0 if intent is Intent.CAREER_SWITCH else 0.5)
            cand.reasons.append(f"a {stage} step on the usual path")
        if cred.id in guide_mentions:
            score += GUIDE_MENTION_BONUS
        score += _domain_fit(cand, facets)
        score += _level_fit(cand, wants, intent)
        score += _budget_fit(cand, wants)
        score += _time_fit(cand, wants)
        score += _experience_fit(cand, wants, intent)
        score += _prerequisite_fit(cand, builds_on, catalog)
        score += _below_what_is_held(cand, wants, catalog)
        score += _provider_fit(cand, wants, catalog.vocabulary)
        score += _coding_fit(cand, facets, catalog.vocabulary)
        cand.score = score

    ranked = sorted(pool.values(), key=lambda c: (-c.score, c.credential.id))
    return resolve_retired(catalog, ranked, facets.credential_ids, held=wants.completed)


def _domain_fit(cand: Candidate, facets: Facets) -> float:
    if not facets.domains:
        return 0.0
    domains = cand.credential.domains
    if domains[0] in facets.domains[:1]:
        return PRIMARY_DOMAIN_BONUS
    if domains[0] in facets.domains or any(d in facets.domains[:1] for d in domains):
        return SECONDARY_DOMAIN_BONUS
    if any(d in facets.domains for d in domains):
        return SECONDARY_DOMAIN_BONUS / 2
    return -OFF_DOMAIN_PENALTY


def _level_fit(cand: Candidate, wants: Wants, intent: Intent) -> float:
    level = cand.credential.level
    wanted = wants.level or (wants.switch_level() if intent is Intent.CAREER_SWITCH else None)
    if wanted is None:
        return -UNSTATED_LEVEL_PENALTY[level]
    steps = abs(level.rank - wanted.rank)
    if steps == 0:
        if wants.level is not None:
            cand.reasons.append(f"{level.value} level, as you asked")
        elif wants.technical_background:
            cand.reasons.append(f"{level.value} level, which suits someone already working in tech")
        else:
            cand.reasons.append(f"{level.value} level, a sensible start for a career change")
    return -LEVEL_STEP_PENALTY * steps


def _budget_fit(cand: Candidate, wants: Wants) -> float:
    cost = cand.credential.cost
    if wants.free_only:
        if cost.max == 0:
            cand.reasons.append("free to take")
            return 0.3
        if cost.min == 0:  # free only in some cases (aid, a free tier): better than paid, not "free"
            return -NOT_FREE_PENALTY / 2
        return -NOT_FREE_PENALTY
    if wants.budget_usd is None:
        return 0.0
    if cost.currency != "USD":
        return 0.0
    if cost.min > wants.budget_usd:
        return -OVER_BUDGET_PENALTY
    if cost.max <= wants.budget_usd:
        cand.reasons.append("within your budget")
        return 0.2
    return -OVER_BUDGET_PENALTY / 3


def _time_fit(cand: Candidate, wants: Wants) -> float:
    if not wants.hours_per_week:
        return 0.0
    weeks = cand.credential.hours.min / wants.hours_per_week
    if weeks > MAX_WEEKS_REASONABLE:
        return -TOO_LONG_PENALTY
    if cand.credential.hours.max / wants.hours_per_week <= 12:
        cand.reasons.append(
            f"doable in about {max(1, round(cand.credential.hours.max / wants.hours_per_week))} weeks at your pace"
        )
    return 0.0


def _experience_fit(cand: Candidate, wants: Wants, intent: Intent) -> float:
    required = cand.credential.experience_years
    if not required:
        return 0.0
    have = wants.experience_years
    if have is None:
        starting_over = intent is Intent.CAREER_SWITCH and not wants.technical_background
        have = 0.0 if (wants.level is Level.BEGINNER or starting_over) else None
    if eligibility(cand.credential, have).short_of_experience:
        if wants.experience_years is not None:
            return -CANNOT_SIT_YET_PENALTY  # the person said how much they have: they cannot sit it yet
        return -EXPERIENCE_PENALTY * min(required, 5) / 5 - 0.2
    return 0.0


def _coding_fit(cand: Candidate, facets: Facets, vocab: Vocabulary) -> float:
    if not facets.no_code:
        return 0.0
    if cand.credential.id in vocab.needs_coding:
        return -NEEDS_CODING_PENALTY
    cand.reasons.append("no programming needed")
    return 0.0


def _next_steps_of_held(wants: Wants, catalog: Catalog) -> dict[str, list[str]]:
    """Credential id -> the credentials held that it builds on, worked out once per ranking."""
    builds_on: dict[str, list[str]] = {}
    for held in sorted(wants.completed):
        if held in catalog.credentials:
            for step in catalog.next_steps(held):
                builds_on.setdefault(step.id, []).append(held)
    return builds_on


def _prerequisite_fit(cand: Candidate, builds_on: dict[str, list[str]], catalog: Catalog) -> float:
    """The natural next step after a credential the person already holds."""
    held = builds_on.get(cand.credential.id)
    if not held:
        return 0.0
    names = ", ".join(catalog.credentials[cid].name for cid in held)
    cand.reasons.append(f"builds on {names}, which you already hold")
    return PREREQUISITE_HELD_BONUS


def _below_what_is_held(cand: Candidate, wants: Wants, catalog: Catalog) -> float:
    """A step back: a more basic credential of a field in which the person already holds a higher one."""
    cred = cand.credential
    reached = [
        catalog.credentials[cid].level.rank
        for cid in wants.completed
        if cid in catalog.credentials and catalog.credentials[cid].primary_domain is cred.primary_domain
    ]
    return -BELOW_HELD_PENALTY if reached and cred.level.rank < max(reached) else 0.0


def _provider_fit(cand: Candidate, wants: Wants, vocab: Vocabulary) -> float:
    provider = provider_key(cand.credential.provider, vocab)
    if wants.providers and provider in wants.providers:
        cand.reasons.append(f"from {cand.credential.provider}, as you prefer")
        return PROVIDER_BONUS
    if wants.vendor_neutral:
        if provider in vocab.words.product_vendors:
            return -VENDOR_NEUTRAL_PENALTY
        cand.reasons.append("vendor-neutral")
    return 0.0


def resolve_retired(
    catalog: Catalog, ranked: Sequence[Candidate], named: Sequence[str], held: Collection[str] = ()
) -> list[Candidate]:
    """Put each retired credential's successor in its place; drop duplicates and what the person already holds.

    The retirement is only mentioned when the person named the retired credential themselves.
    """
    out: list[Candidate] = []
    seen: set[str] = set()
    for cand in ranked:
        cred = cand.credential
        if cred.status is Status.RETIRED:
            successor = catalog.successor(cred)
            if successor is None:
                continue
            if cred.id in named:
                cand = Candidate(
                    successor, cand.relevance, cand.score, [f"replaces the retired {cred.name}"], replaced=cred
                )
            else:
                cand = Candidate(successor, cand.relevance, cand.score)
        if cand.credential.id in seen or cand.credential.id in held:
            continue
        seen.add(cand.credential.id)
        out.append(cand)
    return out
