from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loader import KnowledgeError, load_knowledge, split_sections
from ingest.schema import Credential


def test_fixture_knowledge_loads(fixture_knowledge: Path) -> None:
    kb = load_knowledge(fixture_knowledge)
    assert set(kb.credentials) >= {"aws-certified-cloud-practitioner", "comptia-security-plus"}
    assert kb.occupations["cloud-engineer"].pathway[0].credential == "aws-certified-cloud-practitioner"
    assert kb.guides["what-are-micro-credentials"].sections


def test_bad_field_is_reported_with_path_line_and_field(fixture_knowledge: Path) -> None:
    path = fixture_knowledge / "credentials" / "sample.yaml"
    text = path.read_text()
    path.write_text(text.replace("level: intermediate", "level: wizard", 1))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(fixture_knowledge)
    problem = caught.value.problems[0]
    assert problem.path.endswith("credentials/sample.yaml")
    assert problem.field == "level"
    expected_line = text.splitlines().index("  level: intermediate") + 1
    assert problem.line == expected_line
    assert "beginner" in problem.message
    # the rejected record is missing, so a reference to it is reported too
    assert any("aws-certified-solutions-architect-associate" in p.message for p in caught.value.problems[1:])


def test_unknown_field_is_rejected(fixture_knowledge: Path) -> None:
    path = fixture_knowledge / "credentials" / "sample.yaml"
    path.write_text(path.read_text().replace("  codes: [CLF-C02]", "  codes: [CLF-C02]\n  price_usd: 100", 1))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(fixture_knowledge)
    assert any(p.field == "price_usd" and p.line == 6 for p in caught.value.problems)


def test_broken_reference_is_reported(fixture_knowledge: Path) -> None:
    path = fixture_knowledge / "occupations" / "cloud-engineer.yaml"
    path.write_text(
        path.read_text().replace("credential: aws-certified-cloud-practitioner", "credential: no-such-cert")
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(fixture_knowledge)
    assert any("no-such-cert" in p.message for p in caught.value.problems)


def test_invalid_yaml_is_reported_with_line(fixture_knowledge: Path) -> None:
    (fixture_knowledge / "credentials" / "broken.yaml").write_text("- id: x\n  name: [unclosed\n")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(fixture_knowledge)
    assert any("broken.yaml" in p.path and p.line for p in caught.value.problems)


def test_retired_without_status_is_rejected() -> None:
    base = {
        "id": "x-cert",
        "name": "X",
        "provider": "P",
        "credential_type": "badge",
        "domains": ["cloud"],
        "level": "beginner",
        "hours": {"min": 1, "max": 2},
        "cost": {"min": 0, "max": 0, "covers": "free"},
        "delivery": ["online"],
        "skills": ["s"],
        "occupations": ["15-1252.00"],
        "url": "https://x.example",
        "renewal": "none",
        "last_verified": "2026-11-29",
        "summary": "s",
    }
    Credential.model_validate(base)
    with pytest.raises(ValueError, match="replaced_by"):
        Credential.model_validate({**base, "replaced_by": "y-cert"})
    with pytest.raises(ValueError, match="https"):
        Credential.model_validate({**base, "url": "http://x.example"})
    with pytest.raises(ValueError, match=r"hours\.min"):
        Credential.model_validate({**base, "hours": {"min": 5, "max": 2}})


def test_guides_are_split_at_headings() -> None:
    sections = split_sections("# Title\nIntro.\n\n## One\nFirst.\n## Two\nSecond.\n")
    assert [(s.heading, s.text) for s in sections] == [("Title", "Intro."), ("One", "First."), ("Two", "Second.")]
