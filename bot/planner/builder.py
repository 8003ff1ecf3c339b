"""Building a learning plan: which credentials lead to the target, in which order, and for how many weeks.

Everything comes from the knowledge records: an occupation's pathway gives the order, each credential's
hours range gives the study time, its type and delivery give the milestone. Every credential the plan
leaves out is named in a note, so nothing disappears without a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.advisor.catalog import Catalog
from bot.advisor.matching import fields_named_in, occupation_for_field, occupation_of_role, provider_key
from bot.advisor.models import DEFAULT_HOURS_PER_WEEK, Profile
from bot.advisor.vocabulary import Vocabulary
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from ingest.chunking import cost_text
from ingest.schema import Credential, CredentialType, Delivery, Domain, Level, Occupation, PathwayStage, Status, fold

logger = logging.getLogger(__name__)

MAX_STEPS = 6
DOMAIN_PLAN_SIZE = 4
# Levels at which someone already working in a field no longer needs its beginner entry credentials.
EXPERIENCED_LEVELS = frozenset({Level.INTERMEDIATE, Level.ADVANCED})
# A pathway step is an alternative to the step before it when its reason opens by saying so
# ("Alternative first step...", "Vendor-neutral alternative..."); a passing mention later in the
# sentence ("...is the international alternative") names some other credential.
_ALTERNATIVE = re.compile(r"^\W*(?:[\w'-]+\s+){0,2}alternative\b", re.IGNORECASE)
_COURSE_TYPES = frozenset({CredentialType.PROFESSIONAL_CERTIFICATE, CredentialType.COURSE_CERTIFICATE})
_DOMAIN_LABELS = {
    Domain.AI_ML: "AI and machine learning",
    Domain.DEVOPS: "DevOps",
    Domain.HR: "HR",
    Domain.IT_SUPPORT: "IT support",
    Domain.SALES_CRM: "Sales and CRM",
    Domain.UX_DESIGN: "UX design",
}


class PlanUnavailable(Exception):
    """No plan can be built; `message` says why, in one line the user can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Target:
    label: str
    occupation: Occupation | None
    domain: Domain | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pick:
    """A credential chosen for the plan, with the pathway step it came from (if any)."""

    credential: Credential
    stage: str = ""
    why: str = ""


@dataclass(frozen=True)
class _Standing:
    """What the user has already done with each credential, from the profile and the saved progress."""

    completed: frozenset[str]
    skipped: frozenset[str]
    started: frozenset[str]

    @classmethod
    def of(cls, profile: Profile, progress: Mapping[str, StepStatus] | None) -> _Standing:
        # StepStatus() also accepts the plain strings a store may hand back
        statuses = {cid: StepStatus(status) for cid, status in (progress or {}).items()}

        def having(wanted: StepStatus) -> frozenset[str]:
            return frozenset(cid for cid, status in statuses.items() if status is wanted)

        completed = frozenset(profile.completed) | having(StepStatus.COMPLETED)
        return cls(completed, having(StepStatus.SKIPPED) - completed, having(StepStatus.STARTED) - completed)


@dataclass
class _Notes:
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)


# --- target ---------------------------------------------------------------------------------------


def domain_label(domain: Domain) -> str:
    """A field as people write it: "IT support", "Data analytics"."""
    return _DOMAIN_LABELS.get(domain, domain.value.replace("-", " ").capitalize())


def _field_in_sentence(domain: Domain) -> str:
    """The field's label inside a sentence: acronyms keep their capitals ("IT support", "cybersecurity")."""
    return domain_label(domain) if domain in _DOMAIN_LABELS else domain_label(domain).lower()


def _role_occupation(catalog: Catalog, vocab: Vocabulary, role: str) -> Occupation | None:
    """The occupation a role from the profile names, read as bot.advisor.matching reads every role."""
    occupation_id = occupation_of_role(role, vocab)
    return catalog.occupations[occupation_id] if occupation_id else None


def _target(catalog: Catalog, vocab: Vocabulary, profile: Profile) -> _Target:
    """The role first, then the field; a role we do not know falls back to the field it names."""
    role = (profile.target_role or "").strip()
    occupation = _role_occupation(catalog, vocab, role) if role else None
    if occupation is not None:
        return _Target(occupation.title, occupation, occupation.domains[0])
    named_fields = fields_named_in(role, vocab)
    domain = profile.target_domain or (named_fields[0] if named_fields else None)
    if domain is None:
        if role:
            raise PlanUnavailable(
                f'I don\'t know the role "{role}" yet; tell me a role such as data analyst or a field such as cloud.'
            )
        raise PlanUnavailable("Tell me your target role or field first, for example data analyst or cloud.")
    field_name = _field_in_sentence(domain)
    # a field the user chose leads to its main role; a field guessed from an unknown role's words does
    # not, since the user asked for a different role than the ones we know
    occupation = occupation_for_field(catalog, domain) if profile.target_domain is not None else None
    if occupation is not None:
        note = f"so this plan leads to {occupation.title}, the main role in {field_name}."
        return _Target(
            occupation.title, occupation, domain, (f'I have no pathway for "{role}" yet, {note}',) if role else ()
        )
    note = f'I have no pathway for "{role}" yet, so this plan follows the {field_name} field.'
    return _Target(domain_label(domain), None, domain, (note,) if role else ())


def resolve_target(catalog: Catalog, profile: Profile) -> tuple[str, Occupation | None, Domain | None]:
    """(label, occupation, domain) the plan leads to; raises PlanUnavailable when there is no target."""
    target = _target(catalog, catalog.vocabulary, profile)
    return target.label, target.occupation, target.domain


# --- occupation plans -----------------------------------------------------------------------------


def _pathway_picks(catalog: Catalog, occupation: Occupation, notes: _Notes) -> list[_Pick]:
    """The pathway in its own order, each retired step replaced by its active successor."""
    picks: list[_Pick] = []
    for step in occupation.pathway:
        credential = catalog.credentials.get(step.credential)
        if credential is None:
            logger.warning("pathway of %s names unknown credential %s", occupation.id, step.credential)
            continue
        if credential.status is Status.RETIRED:
            successor = catalog.successor(credential)
            if successor is None:
                notes.add(f"{credential.name} is retired and has no successor, so it is left out.")
                continue
            notes.add(f"{credential.name} is retired; its successor {successor.name} takes its place.")
            credential = successor
        picks.append(_Pick(credential, step.stage.value, step.why))
    return _unique(picks)


def _unique(picks: Iterable[_Pick]) -> list[_Pick]:
    """A credential appears once, at its first place (a successor may already be on the pathway)."""
    seen: set[str] = set()
    out: list[_Pick] = []
    for pick in picks:
        if pick.credential.id not in seen:
            seen.add(pick.credential.id)
            out.append(pick)
    return out


def _is_alternative(pick: _Pick) -> bool:
    return bool(_ALTERNATIVE.search(pick.why))


def _alternative_groups(picks: Sequence[_Pick]) -> list[list[_Pick]]:
    """Consecutive steps of one stage that the pathway itself calls alternatives form one group."""
    groups: list[list[_Pick]] = []
    for pick in picks:
        if groups and _is_alternative(pick) and groups[-1][-1].stage == pick.stage:
            groups[-1].append(pick)
        else:
            groups.append([pick])
    return groups


def _preferred_providers(profile: Profile, vocab: Vocabulary) -> set[str]:
    """Provider keys the user prefers; "AWS" and "Amazon" both mean the same provider."""
    return {provider_key(name, vocab) for name in profile.preferred_providers}


def _favourite(group: Sequence[_Pick], standing: _Standing, preferred: set[str], vocab: Vocabulary) -> _Pick:
    for held in (standing.completed, standing.started):
        for pick in group:
            if pick.credential.id in held:
                return pick
    return next((p for p in group if provider_key(p.credential.provider, vocab) in preferred), group[0])


def _choose_alternatives(
    groups: Sequence[Sequence[_Pick]], standing: _Standing, profile: Profile, vocab: Vocabulary, notes: _Notes
) -> list[_Pick]:
    """One credential per group: the one already done or under way, else the preferred provider's, else the first."""
    preferred = _preferred_providers(profile, vocab)
    chosen: list[_Pick] = []
    for group in groups:
        pick = _favourite(group, standing, preferred, vocab)
        chosen.append(pick)
        for other in group:
            if other is not pick:
                notes.add(
                    f"Left out {other.credential.name}: the pathway offers it as an alternative to {pick.credential.name}."
                )
    return chosen


def _work_domains(catalog: Catalog, vocab: Vocabulary, current_role: str | None) -> set[Domain]:
    """Fields the user already works in, judged from their current role."""
    if not current_role:
        return set()
    occupation = _role_occupation(catalog, vocab, current_role)
    found = set(occupation.domains) if occupation else set()
    return found | set(fields_named_in(current_role, vocab, capital_it=False))


def _skippable_for_experience(pick: _Pick, profile: Profile, work_domains: set[Domain], standing: _Standing) -> bool:
    """The rule: an intermediate or advanced user skips a pathway's beginner-level "first" step when the
    credential's primary field is one their current role already works in. Such entry steps exist to
    check interest and teach basics they use daily; a step they have started stays, it is their choice.
    """
    return (
        profile.level in EXPERIENCED_LEVELS
        and pick.stage == PathwayStage.FIRST.value
        and pick.credential.level is Level.BEGINNER
        and pick.credential.primary_domain in work_domains
        and pick.credential.id not in standing.started
    )


def _occupation_picks(
    catalog: Catalog,
    vocab: Vocabulary,
    occupation: Occupation,
    profile: Profile,
    standing: _Standing,
    notes: _Notes,
) -> list[_Pick]:
    picks = _pathway_picks(catalog, occupation, notes)
    picks = _choose_alternatives(_alternative_groups(picks), standing, profile, vocab, notes)
    picks = _without_done(picks, standing, notes)
    work_domains = _work_domains(catalog, vocab, profile.current_role)
    entry_steps = [p for p in picks if _skippable_for_experience(p, profile, work_domains, standing)]
    if entry_steps and profile.level is not None:
        what = "a beginner first step" if len(entry_steps) == 1 else "beginner first steps"
        notes.add(
            f"Left out {_names(entry_steps)}: {what} in a field you already work in "
            f"({profile.current_role}), and you are at {profile.level.value} level."
        )
    return [p for p in picks if p not in entry_steps]


def _without_done(picks: Sequence[_Pick], standing: _Standing, notes: _Notes) -> list[_Pick]:
    """Completed and skipped credentials leave the plan, and the notes say so."""
    done = [p for p in picks if p.credential.id in standing.completed]
    skipped = [p for p in picks if p.credential.id in standing.skipped]
    if done:
        notes.add(f"Already done, so left out: {_names(done)}.")
    if skipped:
        notes.add(f"Skipped as you asked: {_names(skipped)}.")
    return [p for p in picks if p not in done and p not in skipped]


# --- field (domain-only) plans --------------------------------------------------------------------


def _over_budget(credential: Credential, budget_usd: float | None) -> bool:
    """Only prices in dollars can be compared with a budget given in dollars."""
    return budget_usd is not None and credential.cost.currency == "USD" and credential.cost.min > budget_usd


def _pathway_mentions(catalog: Catalog) -> dict[str, int]:
    """How many role pathways list each credential: a sign that employers know it."""
    counts: dict[str, int] = {}
    for occupation in catalog.occupations.values():
        for step in occupation.pathway:
            counts[step.credential] = counts.get(step.credential, 0) + 1
    return counts


def _domain_pool(catalog: Catalog, domain: Domain, standing: _Standing) -> list[Credential]:
    """Active credentials of the field not yet done; secondary-field ones only when the field is thin."""
    open_ = [
        c
        for c in catalog.credentials.values()
        if c.status is Status.ACTIVE and c.id not in standing.completed and c.id not in standing.skipped
    ]
    primary = [c for c in open_ if c.primary_domain is domain]
    if len(primary) >= DOMAIN_PLAN_SIZE:
        return primary
    return primary + [c for c in open_ if domain in c.domains[1:]]


def _domain_picks(catalog: Catalog, domain: Domain, profile: Profile, standing: _Standing) -> list[Credential]:
    """Up to four credentials climbing the field's levels from the user's own.

    One credential per level from the user's level upward comes first, so the plan is a ladder; the
    remaining places go to the best-fitting of the rest. Fit, in order: within budget, primary field,
    close to the user's level, enough experience, preferred provider, prerequisites already met, known
    from role pathways, shorter.
    """
    start = (profile.level or Level.BEGINNER).rank
    experience = profile.experience_years or 0.0
    preferred = _preferred_providers(profile, catalog.vocabulary)
    mentions = _pathway_mentions(catalog)
    pool = _domain_pool(catalog, domain, standing)
    chosen: list[Credential] = []

    def fit(c: Credential) -> tuple[bool, bool, int, bool, bool, int, int, float, str]:
        held = standing.completed | {x.id for x in chosen}
        return (
            _over_budget(c, profile.budget_usd),
            c.primary_domain is not domain,
            abs(c.level.rank - start) + (1 if c.level.rank < start else 0),  # below your level fits worst
            c.experience_years > experience,
            provider_key(c.provider, catalog.vocabulary) not in preferred,
            sum(1 for p in c.prerequisite_ids if p not in held),
            -mentions.get(c.id, 0),
            study_hours(c),
            c.id,
        )

    for level in (lvl for lvl in Level if lvl.rank >= start):
        # the ladder only climbs to credentials the user could sit now, experience-wise
        at_level = [c for c in pool if c.level is level and c not in chosen and c.experience_years <= experience]
        if at_level and len(chosen) < DOMAIN_PLAN_SIZE:
            chosen.append(min(at_level, key=fit))
    while len(chosen) < DOMAIN_PLAN_SIZE and (rest := [c for c in pool if c not in chosen]):
        chosen.append(min(rest, key=fit))
    return _prerequisites_first(sorted(chosen, key=lambda c: c.level.rank))


def _prerequisites_first(credentials: Sequence[Credential]) -> list[Credential]:
    """Keep the given order, except that a credential never comes before a prerequisite in the same plan."""
    remaining = list(credentials)
    ids = {c.id for c in remaining}
    ordered: list[Credential] = []
    while remaining:
        placed = {c.id for c in ordered}
        ready = next(
            (c for c in remaining if all(p in placed or p not in ids for p in c.prerequisite_ids)),
            remaining[0],  # a cycle in the records: fall back to the given order
        )
        ordered.append(ready)
        remaining.remove(ready)
    return ordered


# --- sizing, milestones, budget -------------------------------------------------------------------


def study_hours(credential: Credential) -> float:
    """Planned study time: the middle of the credential's typical range."""
    return (credential.hours.min + credential.hours.max) / 2


def weeks_needed(hours: float, hours_per_week: float) -> int:
    """Whole weeks at the user's pace, at least one; rounding first keeps 37.5/2.5 at exactly 15."""
    return max(1, math.ceil(round(hours / hours_per_week, 6)))


def _exam_codes(credential: Credential) -> str:
    """The current exam code (the first listed), unless the name already carries it."""
    if not credential.codes or fold(credential.codes[0]) in fold(credential.name):
        return ""
    return f" ({credential.codes[0]})"


def milestone(credential: Credential) -> str:
    """What "done" looks like for one credential, in one line."""
    name = credential.name
    if credential.credential_type is CredentialType.CERTIFICATION:
        if Delivery.INSTRUCTOR_LED in credential.delivery:
            return f"Take the {name} course and pass its exam{_exam_codes(credential)}"
        return f"Pass the {name} exam{_exam_codes(credential)}"
    if credential.credential_type in _COURSE_TYPES:
        return f"Finish every course of {name} and earn the certificate"
    if credential.credential_type is CredentialType.BADGE:
        return f"Earn the {name} badge"
    return f"Complete {name} and earn the micro-credential"


def _schedule(picks: Sequence[_Pick], hours_per_week: float) -> list[PlanStep]:
    """Steps one after another; week 1 is the plan's first week."""
    steps: list[PlanStep] = []
    week = 1
    for position, pick in enumerate(picks, start=1):
        hours = study_hours(pick.credential)
        weeks = weeks_needed(hours, hours_per_week)
        steps.append(
            PlanStep(
                position=position,
                credential_id=pick.credential.id,
                credential_name=pick.credential.name,
                start_week=week,
                end_week=week + weeks - 1,
                study_hours=hours,
                milestone=milestone(pick.credential),
                stage=pick.stage,
            )
        )
        week += weeks
    return steps


def _cap(picks: Sequence[_Pick], notes: _Notes) -> list[_Pick]:
    if len(picks) > MAX_STEPS:
        notes.add(f"After these {MAX_STEPS} steps the path continues with {_names(picks[MAX_STEPS:])}.")
    return list(picks[:MAX_STEPS])


def _budget_note(picks: Sequence[_Pick], budget_usd: float | None, notes: _Notes) -> None:
    """Steps that cost more than the budget stay (the path needs them) but are named."""
    over = [p.credential for p in picks if _over_budget(p.credential, budget_usd)]
    if over and budget_usd is not None:
        costs = ", ".join(f"{c.name} ({cost_text(c)})" for c in over)
        if budget_usd == 0:
            notes.add(f"These steps are not free, and you asked for free options: {costs}.")
        else:
            notes.add(f"Above your budget of {budget_usd:,.0f} USD: {costs}.")


def _names(picks: Sequence[_Pick]) -> str:
    return ", ".join(p.credential.name for p in picks)


# --- the plan -------------------------------------------------------------------------------------


def build_plan(
    catalog: Catalog,
    profile: Profile,
    today: dt.date,
    progress: Mapping[str, StepStatus] | None = None,
) -> LearningPlan:
    """The week-by-week plan toward the profile's target role or field; raises PlanUnavailable without one."""
    vocab = catalog.vocabulary
    target = _target(catalog, vocab, profile)
    standing = _Standing.of(profile, progress)
    notes = _Notes(list(target.notes))
    picks: list[_Pick] = []
    if target.occupation is not None:
        picks = _occupation_picks(catalog, vocab, target.occupation, profile, standing, notes)
    elif target.domain is not None:
        picks = [_Pick(c) for c in _domain_picks(catalog, target.domain, profile, standing)]
    if not picks:
        notes.add(f"Nothing is left to plan toward {target.label}: you have covered every step I know of.")
    picks = _cap(picks, notes)
    _budget_note(picks, profile.budget_usd, notes)
    hours_per_week = profile.hours_per_week or DEFAULT_HOURS_PER_WEEK
    if profile.hours_per_week is None:
        notes.add(
            f"Planned at {DEFAULT_HOURS_PER_WEEK:g} hours a week because I don't know your pace yet; "
            "tell me your weekly hours to resize it."
        )
    return LearningPlan(
        target_label=target.label,
        target_occupation=target.occupation.id if target.occupation else None,
        target_domain=target.domain.value if target.domain else None,
        hours_per_week=hours_per_week,
        created_on=today,
        steps=_schedule(picks, hours_per_week),
        notes=notes.lines,
    )
