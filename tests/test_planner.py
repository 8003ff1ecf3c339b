"""Learning plans built from the real knowledge base and from small knowledge bases written for a test."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.advisor.catalog import Catalog
from bot.advisor.models import Profile
from bot.planner.builder import (
    DEFAULT_HOURS_PER_WEEK,
    MAX_STEPS,
    PlanUnavailable,
    build_plan,
    milestone,
    resolve_target,
    weeks_needed,
)
from bot.planner.models import LearningPlan, PlanStep, StepStatus
from bot.planner.progress import plan_progress
from ingest.schema import Credential, CredentialType, Level, Status
from tests.conftest import FIXTURE_KNOWLEDGE, REAL_KNOWLEDGE
from tests.support.catalogs import catalog_of

TODAY = dt.date(2026, 3, 2)
STAGE_ORDER = {"first": 0, "next": 1, "later": 2}


@pytest.fixture(scope="module")
def real() -> Catalog:
    return catalog_of(REAL_KNOWLEDGE)


@pytest.fixture(scope="module")
def fixture_catalog() -> Catalog:
    return catalog_of(FIXTURE_KNOWLEDGE)


def ids(plan: LearningPlan) -> list[str]:
    return [s.credential_id for s in plan.steps]


def notes_text(plan: LearningPlan) -> str:
    return "\n".join(plan.notes)


# --- small knowledge bases written for one test ---------------------------------------------------


def credential(cid: str, domain: str, level: str, hours: tuple[int, int], cost: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": f"Test {cid.replace('-', ' ').title()}",
        "provider": extra.pop("provider", "Test Institute"),
        "credential_type": extra.pop("credential_type", "certification"),
        "domains": [domain],
        "level": level,
        "hours": {"min": hours[0], "max": hours[1]},
        "cost": {"min": cost, "max": cost, "currency": "USD", "covers": "Exam fee."},
        "delivery": ["online"],
        "skills": ["testing"],
        "occupations": ["13-1071.00"],
        "url": f"https://example.org/{cid}",
        "renewal": "Does not expire.",
        "last_verified": "2026-01-01",
        "summary": "A credential written for a test.",
        **extra,
    }


def occupation(oid: str, domain: str, steps: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "id": oid,
        "title": oid.replace("-", " ").title(),
        "onet_soc": "13-1071.00",
        "aliases": [],
        "domains": [domain],
        "summary": "A role written for a test.",
        "core_skills": ["one", "two", "three"],
        "entry_routes": ["Any route."],
        "pathway": [{"credential": c, "stage": stage, "why": why} for c, stage, why in steps],
        "last_verified": "2026-01-01",
    }


def write(
    root: Path, credentials: Sequence[dict[str, Any]] = (), occupations: Sequence[dict[str, Any]] = ()
) -> Catalog:
    if credentials:
        (root / "credentials" / "extra.yaml").write_text(yaml.safe_dump(list(credentials)), encoding="utf-8")
    for occ in occupations:
        (root / "occupations" / f"{occ['id']}.yaml").write_text(yaml.safe_dump(occ), encoding="utf-8")
    return catalog_of(root)


# --- target ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("Data Analyst", "data-analyst"),
        ("data-analyst!!", "data-analyst"),
        ("I want to be a data analyst", "data-analyst"),
        ("BA", "business-analyst"),
        ("i'd like to work as a machine learning engineer", "ml-engineer"),
        # the earliest name wins, the longest of those that start at the same word: "agile project manager"
        # over "project manager"
        ("I want to be an agile project manager", "scrum-master"),
        ("next: data platform engineer at a bank", "data-engineer"),
    ],
)
def test_target_role_names_an_occupation(real: Catalog, role: str, expected: str) -> None:
    label, occ, domain = resolve_target(real, Profile(target_role=role))
    assert occ is not None and occ.id == expected
    assert label == occ.title and domain is occ.domains[0]


def test_target_domain_leads_to_the_role_of_that_field(real: Catalog) -> None:
    label, occ, domain = resolve_target(real, Profile(target_domain="networking"))
    assert occ is not None and occ.domains[0] is domain and domain.value == "networking"
    assert label == occ.title


def test_no_target_is_unavailable(real: Catalog) -> None:
    with pytest.raises(PlanUnavailable) as caught:
        build_plan(real, Profile(current_role="teacher", hours_per_week=4), TODAY)
    assert "target" in caught.value.message and "\n" not in caught.value.message


def test_unknown_role_without_a_field_is_unavailable(real: Catalog) -> None:
    with pytest.raises(PlanUnavailable) as caught:
        resolve_target(real, Profile(target_role="astronaut"))
    assert "astronaut" in caught.value.message


def test_unknown_role_in_a_known_field_gets_a_field_plan(real: Catalog) -> None:
    plan = build_plan(real, Profile(target_role="security engineer", hours_per_week=6), TODAY)
    assert plan.target_occupation is None and plan.target_domain == "cybersecurity"
    assert "security engineer" in notes_text(plan)
    assert plan.steps and all("cybersecurity" in real.credentials[cid].domains for cid in ids(plan))


# --- occupation plans -----------------------------------------------------------------------------


def test_role_plan_follows_the_pathway(real: Catalog) -> None:
    occ = real.occupations["business-analyst"]
    plan = build_plan(real, Profile(target_role="Business-Analyst", hours_per_week=6), TODAY)
    assert plan.target_occupation == occ.id and plan.target_label == occ.title and plan.created_on == TODAY
    assert ids(plan) == [step.credential for step in occ.pathway][:MAX_STEPS]
    assert [s.stage for s in plan.steps] == [step.stage.value for step in occ.pathway][:MAX_STEPS]
    assert [s.position for s in plan.steps] == list(range(1, len(plan.steps) + 1))


def test_every_role_plan_keeps_pathway_order_and_drops_nothing_silently(real: Catalog) -> None:
    for occ in real.occupations.values():
        plan = build_plan(real, Profile(target_role=occ.title, hours_per_week=5), TODAY)
        pathway = [step.credential for step in occ.pathway]
        successors = {cid: s.id for cid in pathway if (s := real.successor(real.credentials[cid])) is not None}
        positions = [
            pathway.index(cid) if cid in pathway else pathway.index(_replaced(successors, cid)) for cid in ids(plan)
        ]
        assert positions == sorted(positions), occ.id
        assert len(plan.steps) <= MAX_STEPS
        assert all(real.credentials[cid].status is Status.ACTIVE for cid in ids(plan)), occ.id
        stages = [STAGE_ORDER[s.stage] for s in plan.steps]
        assert stages == sorted(stages), occ.id
        for cid in pathway:
            if cid not in ids(plan) and successors.get(cid) not in ids(plan):
                assert real.credentials[cid].name in notes_text(plan), (occ.id, cid)


def _replaced(successors: dict[str, str], successor_id: str) -> str:
    return next(old for old, new in successors.items() if new == successor_id)


def test_weeks_come_from_the_hours_of_each_record(real: Catalog) -> None:
    hours_per_week = 7.0
    plan = build_plan(real, Profile(target_role="cloud engineer", hours_per_week=hours_per_week), TODAY)
    assert plan.hours_per_week == hours_per_week and len(plan.steps) >= 3
    week = 1
    for step in plan.steps:
        cred = real.credentials[step.credential_id]
        assert step.study_hours == (cred.hours.min + cred.hours.max) / 2
        assert step.start_week == week
        assert step.end_week - step.start_week + 1 == max(1, math.ceil(step.study_hours / hours_per_week))
        week = step.end_week + 1
    assert plan.total_weeks == week - 1


def test_weeks_on_the_fixture_knowledge(fixture_catalog: Catalog) -> None:
    plan = build_plan(fixture_catalog, Profile(target_role="cloud engineer", hours_per_week=10), TODAY)
    pathway = [s.credential for s in fixture_catalog.occupations["cloud-engineer"].pathway]
    assert ids(plan) == pathway
    first, second = (fixture_catalog.credentials[cid] for cid in pathway)
    first_weeks = math.ceil((first.hours.min + first.hours.max) / 2 / 10)
    second_weeks = math.ceil((second.hours.min + second.hours.max) / 2 / 10)
    assert (plan.steps[0].start_week, plan.steps[0].end_week) == (1, first_weeks)
    assert (plan.steps[1].start_week, plan.steps[1].end_week) == (first_weeks + 1, first_weeks + second_weeks)


def test_weeks_needed_rounds_up_and_is_at_least_one() -> None:
    assert weeks_needed(37.5, 2.5) == 15  # exact division stays exact
    assert weeks_needed(31, 5) == 7
    assert weeks_needed(0, 5) == 1
    assert weeks_needed(4, 80) == 1


def test_a_fast_pace_still_takes_a_week_per_step(real: Catalog) -> None:
    plan = build_plan(real, Profile(target_role="scrum master", hours_per_week=80), TODAY)
    short = [s for s in plan.steps if s.study_hours <= 80]
    assert short, "some scrum credentials take less than 80 hours"
    assert all(s.start_week == s.end_week for s in short)


def test_hours_default_to_five_with_a_note(fixture_catalog: Catalog) -> None:
    plan = build_plan(fixture_catalog, Profile(target_role="cloud engineer"), TODAY)
    assert plan.hours_per_week == DEFAULT_HOURS_PER_WEEK == 5
    assert any(f"{DEFAULT_HOURS_PER_WEEK:g} hours a week" in n for n in plan.notes)
    first = fixture_catalog.credentials[plan.steps[0].credential_id]
    assert plan.steps[0].end_week == math.ceil((first.hours.min + first.hours.max) / 2 / 5)
    told = build_plan(fixture_catalog, Profile(target_role="cloud engineer", hours_per_week=5), TODAY)
    assert not any("hours a week" in n for n in told.notes)


def test_retired_step_gives_way_to_its_successor(fixture_knowledge: Path) -> None:
    catalog = write(
        fixture_knowledge,
        credentials=[credential("old-exam", "digital-marketing", "beginner", (5, 5), 0, status="retired")],
        occupations=[
            occupation(
                "web-analyst",
                "digital-marketing",
                [
                    ("google-analytics-individual-qualification", "first", "Measurement basics."),
                    ("old-exam", "next", "A retired exam with no successor."),
                    ("google-analytics-certification", "next", "The current exam."),
                    ("comptia-security-plus", "later", "Security basics."),
                ],
            )
        ],
    )
    retired = catalog.credentials["google-analytics-individual-qualification"]
    successor = catalog.successor(retired)
    assert successor is not None
    plan = build_plan(catalog, Profile(target_role="web analyst", hours_per_week=5), TODAY)
    # the successor takes the retired step's place, once, even though the pathway also lists it
    assert ids(plan) == [successor.id, "comptia-security-plus"]
    assert plan.steps[0].stage == "first"
    assert any(retired.name in n and successor.name in n for n in plan.notes)
    assert any(catalog.credentials["old-exam"].name in n and "no successor" in n for n in plan.notes)


def test_completed_and_skipped_credentials_are_left_out(real: Catalog) -> None:
    pathway = [s.credential for s in real.occupations["cloud-engineer"].pathway]
    held, finished, skipped = pathway[0], pathway[1], pathway[2]
    plan = build_plan(
        real,
        Profile(target_role="cloud engineer", hours_per_week=8, completed=[held]),
        TODAY,
        {finished: StepStatus.COMPLETED, skipped: StepStatus.SKIPPED, pathway[3]: StepStatus.STARTED},
    )
    assert ids(plan) == pathway[3:]
    assert plan.steps[0].start_week == 1
    text = notes_text(plan)
    for cid in (held, finished, skipped):
        assert real.credentials[cid].name in text


def test_experienced_user_skips_beginner_first_steps_of_their_field(real: Catalog) -> None:
    occ = real.occupations["solutions-architect"]
    current = real.occupations["cloud-engineer"]
    entry = [
        s.credential
        for s in occ.pathway
        if s.stage.value == "first"
        and real.credentials[s.credential].level is Level.BEGINNER
        and real.credentials[s.credential].primary_domain in current.domains
    ]
    assert entry, "the pathway should open with a beginner cloud step"
    profile = Profile(target_role=occ.title, current_role=current.title, level="intermediate", hours_per_week=6)
    plan = build_plan(real, profile, TODAY)
    assert not set(entry) & set(ids(plan))
    assert any(all(real.credentials[c].name in n for c in entry) and "already work in" in n for n in plan.notes)
    beginner = build_plan(real, profile.model_copy(update={"level": Level.BEGINNER}), TODAY)
    assert set(entry) <= set(ids(beginner))
    newcomer = build_plan(real, profile.model_copy(update={"current_role": "teacher"}), TODAY)
    assert set(entry) <= set(ids(newcomer))


def test_experience_rule_only_drops_beginner_first_steps_in_the_users_field(fixture_knowledge: Path) -> None:
    steps = [
        ("aws-certified-cloud-practitioner", "first", "Cloud basics."),
        ("isc2-certified-in-cybersecurity", "first", "Security basics, another field."),
        ("aws-certified-solutions-architect-associate", "first", "Design on AWS."),
        ("comptia-security-plus", "next", "Security next."),
    ]
    catalog = write(fixture_knowledge, occupations=[occupation("cloud-security-lead", "cloud", steps)])
    profile = Profile(target_role="cloud security lead", current_role="cloud engineer", level="advanced")
    plan = build_plan(catalog, profile, TODAY)
    assert ids(plan) == [c for c, _, _ in steps if c != "aws-certified-cloud-practitioner"]
    under_way = build_plan(catalog, profile, TODAY, {"aws-certified-cloud-practitioner": StepStatus.STARTED})
    assert ids(under_way) == [c for c, _, _ in steps]


def test_budget_compares_the_lowest_price(fixture_knowledge: Path) -> None:
    steps = [
        ("isc2-certified-in-cybersecurity", "first", "Entry exam."),
        ("comptia-security-plus", "next", "Baseline exam."),
    ]
    catalog = write(fixture_knowledge, occupations=[occupation("security-junior", "cybersecurity", steps)])
    cheap, dear = (catalog.credentials[c] for c, _, _ in steps)
    budget = cheap.cost.max - 1  # between the cheap one's lowest and highest price, below the dear one's lowest
    assert cheap.cost.min <= budget < dear.cost.min
    plan = build_plan(catalog, Profile(target_role="security junior", budget_usd=budget, hours_per_week=5), TODAY)
    assert ids(plan) == [c for c, _, _ in steps]
    (note,) = [n for n in plan.notes if "budget" in n]
    assert dear.name in note and cheap.name not in note


ALTERNATIVES = [
    ("isc2-certified-in-cybersecurity", "first", "Entry-level exam."),
    ("comptia-security-plus", "first", "Alternative first step from another body; pick one of the two."),
    ("aws-certified-cloud-practitioner", "first", "Cloud basics, taken as well."),
    ("aws-certified-solutions-architect-associate", "next", "Design on AWS."),
]


def test_pathway_alternatives_follow_the_preferred_provider(fixture_knowledge: Path) -> None:
    catalog = write(fixture_knowledge, occupations=[occupation("security-starter", "cybersecurity", ALTERNATIVES)])
    plain = build_plan(catalog, Profile(target_role="security starter", hours_per_week=5), TODAY)
    assert ids(plain) == [
        "isc2-certified-in-cybersecurity",
        "aws-certified-cloud-practitioner",
        "aws-certified-solutions-architect-associate",
    ]
    assert any(catalog.credentials["comptia-security-plus"].name in n for n in plain.notes)
    prefers = build_plan(
        catalog, Profile(target_role="security starter", hours_per_week=5, preferred_providers=["CompTIA"]), TODAY
    )
    assert ids(prefers)[0] == "comptia-security-plus"
    assert "isc2-certified-in-cybersecurity" not in ids(prefers)
    started = build_plan(
        catalog,
        Profile(target_role="security starter", hours_per_week=5),
        TODAY,
        {"comptia-security-plus": StepStatus.STARTED},
    )
    assert ids(started)[0] == "comptia-security-plus"


def test_plan_is_capped_with_a_note(fixture_knowledge: Path) -> None:
    extra = [credential(f"step-{n}", "cloud", "beginner", (10, 10), 0) for n in range(1, 8)]
    steps = [(c["id"], "next", "One more step.") for c in extra]
    catalog = write(fixture_knowledge, extra, [occupation("long-road", "cloud", steps)])
    plan = build_plan(catalog, Profile(target_role="long road", hours_per_week=10), TODAY)
    assert ids(plan) == [c["id"] for c in extra][:MAX_STEPS]
    assert any(catalog.credentials["step-7"].name in n for n in plan.notes)


def test_budget_names_steps_above_it_but_keeps_them(real: Catalog) -> None:
    budget = 120.0
    free = build_plan(real, Profile(target_role="cloud engineer", hours_per_week=5), TODAY)
    plan = build_plan(real, Profile(target_role="cloud engineer", hours_per_week=5, budget_usd=budget), TODAY)
    assert ids(plan) == ids(free)
    over = [real.credentials[c] for c in ids(plan) if real.credentials[c].cost.min > budget]
    within = [real.credentials[c] for c in ids(plan) if real.credentials[c].cost.min <= budget]
    assert over and within
    budget_notes = [n for n in plan.notes if "budget" in n]
    assert len(budget_notes) == 1
    assert all(c.name in budget_notes[0] for c in over)
    assert not any(c.name in budget_notes[0] for c in within)
    assert not any("budget" in n for n in free.notes)


# --- field (domain-only) plans --------------------------------------------------------------------


def test_field_plan_climbs_the_levels(real: Catalog) -> None:
    assert not any(o.domains[0].value == "soft-skills" for o in real.occupations.values())
    plan = build_plan(real, Profile(target_domain="soft-skills", hours_per_week=4), TODAY)
    assert plan.target_occupation is None and plan.target_domain == "soft-skills"
    assert 3 <= len(plan.steps) <= 4
    creds = [real.credentials[c] for c in ids(plan)]
    assert all(c.status is Status.ACTIVE and c.primary_domain.value == "soft-skills" for c in creds)
    ranks = [c.level.rank for c in creds]
    assert ranks == sorted(ranks)
    assert all(s.stage == "" for s in plan.steps)


def test_field_plan_respects_prerequisites_level_and_budget(fixture_knowledge: Path) -> None:
    catalog = write(
        fixture_knowledge,
        credentials=[
            credential("hr-a", "hr", "beginner", (10, 10), 0, prerequisite_ids=["hr-c"]),
            credential("hr-b", "hr", "beginner", (40, 60), 0),
            credential("hr-c", "hr", "intermediate", (30, 30), 100),
            credential("hr-d", "hr", "intermediate", (30, 30), 2000),
            credential("hr-e", "hr", "advanced", (50, 50), 300),
            credential("hr-f", "hr", "beginner", (5, 5), 5000),
        ],
    )
    plan = build_plan(catalog, Profile(target_domain="hr", budget_usd=500, hours_per_week=5), TODAY)
    order = ids(plan)
    assert set(order) == {"hr-a", "hr-b", "hr-c", "hr-e"}  # the two above budget lose to those within it
    assert order.index("hr-c") < order.index("hr-a")  # a prerequisite first, even one a level up
    assert order[-1] == "hr-e" and order[0] == "hr-b"
    assert not any("budget" in n for n in plan.notes)

    middle = build_plan(catalog, Profile(target_domain="hr", level="intermediate", hours_per_week=5), TODAY)
    levels = [catalog.credentials[c].level for c in ids(middle)]
    assert {"hr-c", "hr-d", "hr-e"} <= set(ids(middle))
    assert levels.count(Level.BEGINNER) <= 1

    done = build_plan(catalog, Profile(target_domain="hr", completed=["hr-b"], hours_per_week=5), TODAY)
    assert "hr-b" not in ids(done)


# --- milestones -----------------------------------------------------------------------------------


def test_milestones_follow_the_kind_of_credential(real: Catalog) -> None:
    for cred in real.credentials.values():
        line = milestone(cred)
        assert cred.name in line and "\n" not in line
        if cred.credential_type is CredentialType.CERTIFICATION:
            assert line.startswith(("Pass the", "Take the")) and "exam" in line
            if cred.codes and cred.codes[0].lower() not in cred.name.lower():
                assert f"({cred.codes[0]})" in line
        elif cred.credential_type in (CredentialType.PROFESSIONAL_CERTIFICATE, CredentialType.COURSE_CERTIFICATE):
            assert line == f"Finish every course of {cred.name} and earn the certificate"


def test_plan_steps_carry_their_milestone(real: Catalog) -> None:
    plan = build_plan(real, Profile(target_role="data analyst", hours_per_week=10), TODAY)
    for step in plan.steps:
        cred: Credential = real.credentials[step.credential_id]
        assert step.credential_name == cred.name and step.milestone == milestone(cred)


# --- progress -------------------------------------------------------------------------------------


def _plan_of(count: int) -> LearningPlan:
    steps = [
        PlanStep(
            position=n,
            credential_id=f"cred-{n}",
            credential_name=f"Credential {n}",
            start_week=n,
            end_week=n,
            study_hours=5,
            milestone="Pass it",
        )
        for n in range(1, count + 1)
    ]
    return LearningPlan(target_label="Test", hours_per_week=5, created_on=TODAY, steps=steps)


def test_progress_counts_completed_over_steps_not_skipped(real: Catalog) -> None:
    plan = build_plan(real, Profile(target_role="cloud engineer", hours_per_week=5), TODAY)
    assert len(plan.steps) >= 4
    first, second, third = plan.steps[:3]
    progress = {
        first.credential_id: StepStatus.COMPLETED,
        second.credential_id: StepStatus.SKIPPED,
        third.credential_id: StepStatus.STARTED,
        "not-in-the-plan": StepStatus.COMPLETED,
    }
    got = plan_progress(plan, progress)
    total = len(plan.steps) - 1
    assert (got.done, got.total) == (1, total)
    assert got.percent == round(100 / total)
    assert got.next_step == third and got.current == third


def test_progress_next_step_skips_over_skipped_and_completed() -> None:
    plan = _plan_of(4)
    got = plan_progress(plan, {"cred-1": StepStatus.SKIPPED, "cred-2": StepStatus.COMPLETED})
    assert got.next_step == plan.steps[2] and got.current is None
    assert (got.done, got.total, got.percent) == (1, 3, 33)


def test_progress_edges() -> None:
    plan = _plan_of(8)
    fresh = plan_progress(plan, {})
    assert (fresh.done, fresh.total, fresh.percent) == (0, 8, 0)
    assert fresh.next_step == plan.steps[0] and fresh.current is None
    assert plan_progress(plan, {"cred-1": StepStatus.COMPLETED}).percent == 13  # 12.5 rounds up
    assert plan_progress(plan, {"cred-1": "completed", "cred-2": "started"}).current == plan.steps[1]  # type: ignore[dict-item]
    finished = plan_progress(plan, {s.credential_id: StepStatus.COMPLETED for s in plan.steps})
    assert (finished.percent, finished.next_step) == (100, None)
    skipped = plan_progress(plan, {s.credential_id: StepStatus.SKIPPED for s in plan.steps})
    assert (skipped.total, skipped.percent, skipped.next_step) == (0, 0, None)
