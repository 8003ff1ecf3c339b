"""The real knowledge base: loads through the schema, references resolve, coverage holds."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections import Counter
from pathlib import Path

import pytest

from ingest.loader import KnowledgeBase, load_knowledge
from ingest.schema import Domain, Status, fold
from tests.conftest import REAL_KNOWLEDGE

IDS_FILE = REAL_KNOWLEDGE / "IDS.md"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(REAL_KNOWLEDGE)


def test_counts(kb: KnowledgeBase) -> None:
    assert len(kb.credentials) >= 150
    assert len(kb.occupations) >= 20
    career = [g for g in kb.guides.values() if g.meta.kind.value == "career-switch"]
    assert len(career) >= 15
    assert len(kb.guides) - len(career) >= 8


def test_every_domain_has_five_active_credentials(kb: KnowledgeBase) -> None:
    active = Counter(d for c in kb.credentials.values() if c.status is Status.ACTIVE for d in c.domains)
    missing = {d.value: active[d] for d in Domain if active[d] < 5}
    assert not missing


def test_reserved_ids_exist(kb: KnowledgeBase) -> None:
    body = IDS_FILE.read_text(encoding="utf-8")
    credential_part, occupation_part = body.split("## Occupations", 1)
    reserved = set(re.findall(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", credential_part))
    assert reserved - set(kb.credentials) == set()
    assert set(re.findall(r"\b[a-z]+(?:-[a-z]+)+\b", occupation_part)) - set(kb.occupations) == set()


def test_retired_records_point_to_active_replacements(kb: KnowledgeBase) -> None:
    for cred in kb.credentials.values():
        if cred.replaced_by:
            assert kb.credentials[cred.replaced_by].status is Status.ACTIVE, cred.id
    assert kb.credentials["google-analytics-individual-qualification"].replaced_by == "google-analytics-certification"
    assert kb.credentials["tensorflow-developer-certificate"].status is Status.RETIRED


def test_urls_dates_and_summaries(kb: KnowledgeBase) -> None:
    today = dt.date(2026, 12, 31)
    for cred in kb.credentials.values():
        assert cred.url.startswith("https://"), cred.id
        assert isinstance(cred.last_verified, dt.date) and cred.last_verified <= today
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", cred.summary.strip()) if s]
        assert 1 <= len(sentences) <= 5, cred.id


def test_no_near_duplicate_records(kb: KnowledgeBase) -> None:
    names = sorted((fold(c.name), c.id) for c in kb.credentials.values())
    for (a, a_id), (b, b_id) in itertools.pairwise(names):
        assert a != b, (a_id, b_id)
    folded = [(fold(c.name), c.id) for c in kb.credentials.values()]
    for i, (a, a_id) in enumerate(folded):
        for b, b_id in folded[i + 1 :]:
            ratio = difflib.SequenceMatcher(None, a, b).ratio()
            # numbered series (PSM I / PSM II) differ by a character on purpose
            if ratio > 0.97:
                assert re.search(r"\b(i|ii|iii|1|2|3)\b", a + " " + b), (a_id, b_id)


def test_guides_reference_existing_records(kb: KnowledgeBase) -> None:
    for guide in kb.guides.values():
        assert set(guide.meta.credentials) <= set(kb.credentials), guide.path
        mentioned = set(re.findall(r"\(id: ([a-z0-9-]+)\)", " ".join(s.text for s in guide.sections)))
        assert mentioned <= set(kb.credentials), (guide.path, mentioned - set(kb.credentials))


def test_check_command_validates_without_writing(tmp_path: Path) -> None:
    from ingest.__main__ import main

    assert main(["--knowledge", str(REAL_KNOWLEDGE), "--chroma-path", str(tmp_path / "chroma"), "--check"]) == 0
    assert not (tmp_path / "chroma").exists()
