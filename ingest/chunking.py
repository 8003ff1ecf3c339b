"""Turn validated records into the chunks that are embedded and indexed.

A credential becomes one chunk written from its fields; an occupation one chunk; a guide one
chunk per heading. Chunk ids are derived from content, so an unchanged record keeps its ids and
a re-run of the ingest writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ingest.loader import KnowledgeBase
from ingest.schema import QUOTE_FIELDS, Credential, Guide, Occupation

# Metadata values must be scalars in Chroma; lists are stored joined by this separator.
LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, str | int | float | bool]

    @property
    def doc_key(self) -> str:
        return str(self.metadata["doc_key"])


def _money(amount: float) -> str:
    return f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"


def cost_text(cred: Credential) -> str:
    cost = cred.cost
    if cost.max == 0:
        return "free"
    amount = _money(cost.min) if cost.min == cost.max else f"{_money(cost.min)}-{_money(cost.max)}"
    return f"{amount} {cost.currency}"


def hours_text(cred: Credential) -> str:
    hours = cred.hours
    return f"{hours.min} hours" if hours.min == hours.max else f"{hours.min}-{hours.max} hours"


def credential_text(cred: Credential) -> str:
    names = ", ".join([*cred.codes, *cred.aliases])
    lines = [
        f"{cred.name} ({names})" if names else cred.name,
        f"Provider: {cred.provider}. Type: {cred.credential_type.value}. Level: {cred.level.value}.",
        f"Domains: {', '.join(d.value for d in cred.domains)}.",
        f"Study time: {hours_text(cred)}. Cost: {cost_text(cred)} ({cred.cost.covers}).",
        f"Skills: {', '.join(cred.skills)}.",
    ]
    if cred.prerequisites:
        lines.append(f"Prerequisites: {'; '.join(cred.prerequisites)}")
    if cred.status.value == "retired":
        lines.append("Status: retired." + (f" Replaced by {cred.replaced_by}." if cred.replaced_by else ""))
    lines.append(cred.summary)
    return "\n".join(lines)


def occupation_text(occ: Occupation) -> str:
    return "\n".join(
        [
            f"{occ.title} ({', '.join(occ.aliases)})" if occ.aliases else occ.title,
            occ.summary,
            f"Core skills: {', '.join(occ.core_skills)}.",
            f"Entry routes: {' '.join(occ.entry_routes)}",
            "Credential pathway: " + "; ".join(f"{s.stage.value}: {s.credential} - {s.why}" for s in occ.pathway),
        ]
    )


def _chunk(doc_key: str, part: int, text: str, metadata: dict[str, str | int | float | bool]) -> Chunk:
    payload = json.dumps({"text": text, "metadata": metadata}, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
    meta = {**metadata, "doc_key": doc_key, "part": part}
    return Chunk(id=f"{doc_key}#{part}:{digest}", text=text, metadata=meta)


def credential_chunk(cred: Credential, path: str) -> Chunk:
    return _chunk(
        f"credential:{cred.id}",
        0,
        credential_text(cred),
        {
            "kind": "credential",
            "record_id": cred.id,
            "title": cred.name,
            "path": path,
            "domain": cred.primary_domain.value,
            "domains": LIST_SEPARATOR.join(d.value for d in cred.domains),
            "level": cred.level.value,
            "status": cred.status.value,
            "cost_max": float(cred.cost.max),
            "hours_max": cred.hours.max,
            # The whole record travels with the index so the bot reads one consistent source.
            "record": cred.model_dump_json(),
        },
    )


def occupation_chunk(occ: Occupation, path: str) -> Chunk:
    return _chunk(
        f"occupation:{occ.id}",
        0,
        occupation_text(occ),
        {
            "kind": "occupation",
            "record_id": occ.id,
            "title": occ.title,
            "path": path,
            "domain": occ.domains[0].value,
            "domains": LIST_SEPARATOR.join(d.value for d in occ.domains),
            "record": occ.model_dump_json(),
        },
    )


def guide_chunks(guide: Guide) -> list[Chunk]:
    meta = guide.meta
    chunks = []
    for part, section in enumerate(guide.sections):
        heading = section.heading or meta.title
        title = meta.title if heading == meta.title else f"{meta.title}: {heading}"
        chunks.append(
            _chunk(
                f"guide:{meta.id}",
                part,
                f"{title}\n{section.text}",
                {
                    "kind": "guide",
                    "guide_kind": meta.kind.value,
                    "record_id": meta.id,
                    "title": title,
                    "heading": heading,
                    "path": guide.path,
                    "domain": meta.domains[0].value if meta.domains else "",
                    "domains": LIST_SEPARATOR.join(d.value for d in meta.domains),
                    "credentials": LIST_SEPARATOR.join(meta.credentials),
                    "from_roles": LIST_SEPARATOR.join(meta.from_roles),
                    "to_occupations": LIST_SEPARATOR.join(meta.to_occupations),
                    "keywords": LIST_SEPARATOR.join(meta.keywords),
                    "summary": meta.summary,
                    # the sentences written to be quoted travel with every section, which the answer cites
                    **{name: LIST_SEPARATOR.join(getattr(meta, name)) for name in QUOTE_FIELDS},
                },
            )
        )
    return chunks


def build_chunks(kb: KnowledgeBase) -> list[Chunk]:
    chunks = [credential_chunk(c, kb.paths[f"credential:{c.id}"]) for c in kb.credentials.values()]
    chunks += [occupation_chunk(o, kb.paths[f"occupation:{o.id}"]) for o in kb.occupations.values()]
    for guide in kb.guides.values():
        chunks += guide_chunks(guide)
    return chunks
