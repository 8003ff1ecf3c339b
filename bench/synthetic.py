"""A knowledge base N times the real one: the real records plus N-1 synthetic variants of each.

A variant keeps a record's substance and changes what tells records apart: a new id, a name or
title with a track qualifier and a number, a sentence added to the summary, cost and hours a few
percent off. References (replacements, prerequisites, pathways, guide links) point at the same
variant, so the copy validates exactly as the real knowledge base does. Exam codes, aliases and a
guide's starting roles stay with the real record: a thousand records answering to "SAA" would test
a catalog nobody writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from ingest.loader import load_knowledge
from ingest.schema import Credential, Guide, Occupation

QUALIFIERS = (
    "Regional",
    "Academic",
    "Partner",
    "Workforce",
    "Enterprise",
    "Community",
    "Apprenticeship",
    "Bootcamp",
    "Continuing Education",
    "Public Sector",
)


def _variant_id(record_id: str, n: int) -> str:
    return f"{record_id}-v{n}"


def _qualifier(n: int) -> str:
    return f"{QUALIFIERS[n % len(QUALIFIERS)]} track {n}"


def _nudge(n: int) -> float:
    """A few percent up, different for neighbouring variants."""
    return 1 + (n % 7) / 20


def credential_variant(cred: Credential, n: int) -> dict[str, Any]:
    data = cred.model_dump(mode="json")
    factor = _nudge(n)
    data.update(
        id=_variant_id(cred.id, n),
        name=f"{cred.name} ({_qualifier(n)})",
        codes=[],
        aliases=[],
        prerequisite_ids=[_variant_id(p, n) for p in cred.prerequisite_ids],
        replaced_by=_variant_id(cred.replaced_by, n) if cred.replaced_by else None,
        url=f"{cred.url}{'&' if '?' in cred.url else '?'}variant={n}",
        summary=f"{cred.summary} Offered as the {_qualifier(n).lower()} variant, with the same syllabus and exam.",
    )
    data["cost"].update(min=round(cred.cost.min * factor, 2), max=round(cred.cost.max * factor, 2))
    data["hours"].update(min=round(cred.hours.min * factor), max=round(cred.hours.max * factor))
    return data


def occupation_variant(occ: Occupation, n: int) -> dict[str, Any]:
    data = occ.model_dump(mode="json")
    data.update(
        id=_variant_id(occ.id, n),
        title=f"{occ.title} ({_qualifier(n)})",
        aliases=[],
        summary=f"{occ.summary} This is the {_qualifier(n).lower()} version of the role.",
    )
    for step in data["pathway"]:
        step["credential"] = _variant_id(step["credential"], n)
    return data


def guide_variant(guide: Guide, n: int) -> str:
    meta = guide.meta.model_dump(mode="json")
    meta.update(
        id=_variant_id(guide.meta.id, n),
        title=f"{guide.meta.title} ({_qualifier(n)})",
        from_roles=[],
        keywords=[],
        to_occupations=[_variant_id(o, n) for o in guide.meta.to_occupations],
        credentials=[_variant_id(c, n) for c in guide.meta.credentials],
    )
    body = []
    for index, section in enumerate(guide.sections):
        text = section.text + (f"\n\nWritten for the {_qualifier(n).lower()}." if index == 0 else "")
        body.append(f"## {section.heading}\n\n{text}" if section.heading else text)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n" + "\n\n".join(body) + "\n"


def _yaml(records: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(records, sort_keys=False, allow_unicode=True, width=120)


def write_scaled(source: Path, target: Path, factor: int) -> None:
    """Copy `source` to `target` with factor-1 variants of every record added (validated when it is ingested)."""
    if factor < 1:
        raise ValueError("the scale factor is at least 1")
    real = load_knowledge(source)
    shutil.copytree(source, target)
    for n in range(1, factor):
        credentials = [credential_variant(c, n) for c in real.credentials.values()]
        occupations = [occupation_variant(o, n) for o in real.occupations.values()]
        (target / "credentials" / f"variants-{n:04d}.yaml").write_text(_yaml(credentials), "utf-8")
        (target / "occupations" / f"variants-{n:04d}.yaml").write_text(_yaml(occupations), "utf-8")
        for guide in real.guides.values():
            (target / "guides" / f"{_variant_id(guide.meta.id, n)}.md").write_text(guide_variant(guide, n), "utf-8")
