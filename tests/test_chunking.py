from __future__ import annotations

from pathlib import Path

from ingest.chunking import build_chunks
from ingest.loader import load_knowledge


def test_chunk_ids_are_stable_and_content_derived(fixture_knowledge: Path) -> None:
    first = build_chunks(load_knowledge(fixture_knowledge))
    again = build_chunks(load_knowledge(fixture_knowledge))
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)

    path = fixture_knowledge / "credentials" / "sample.yaml"
    path.write_text(path.read_text().replace("A foundational AWS exam", "An introductory AWS exam"))
    changed = {c.id for c in build_chunks(load_knowledge(fixture_knowledge))}
    moved = {c.id for c in first} - changed
    assert len(moved) == 1 and next(iter(moved)).startswith("credential:aws-certified-cloud-practitioner#0:")


def test_one_chunk_per_credential_and_per_guide_heading(fixture_knowledge: Path) -> None:
    chunks = build_chunks(load_knowledge(fixture_knowledge))
    kinds = [c.metadata["kind"] for c in chunks]
    assert kinds.count("credential") == 11
    assert kinds.count("occupation") == 2
    guide = [
        c for c in chunks if c.metadata["kind"] == "guide" and c.metadata["record_id"] == "what-are-micro-credentials"
    ]
    assert [c.metadata["heading"] for c in guide] == ["What micro-credentials are", "How they differ from degrees"]
    security = next(c for c in chunks if c.metadata.get("record_id") == "comptia-security-plus")
    assert "Sec+" in security.text and "400-440 USD" in security.text
