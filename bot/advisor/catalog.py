"""The knowledge the advisor works from, read back from the live index.

The index carries each record in full, so the bot reads one consistent source: what it can
retrieve is exactly what it can describe. The word lists it reads questions with
(knowledge/vocabulary.yaml) come with it, read when the index is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from chromadb.api.models.Collection import Collection

from bot.advisor.vocabulary import Vocabulary
from ingest.chunking import LIST_SEPARATOR, Chunk
from ingest.index import read_all
from ingest.schema import Credential, Occupation, Status, fold
from ingest.vocabulary import WordLists


@dataclass(frozen=True)
class IndexedChunk:
    id: str
    text: str
    kind: str
    record_id: str
    title: str
    path: str
    meta: dict[str, str]

    def listed(self, key: str) -> list[str]:
        value = self.meta.get(key, "")
        return [v for v in value.split(LIST_SEPARATOR) if v] if value else []


@dataclass
class Catalog:
    collection_name: str
    chunks: list[IndexedChunk]
    words: WordLists
    credentials: dict[str, Credential] = field(default_factory=dict)
    occupations: dict[str, Occupation] = field(default_factory=dict)
    chunk_by_id: dict[str, IndexedChunk] = field(default_factory=dict)

    @classmethod
    def from_collection(cls, collection: Collection, words: WordLists) -> Catalog:
        return cls.from_rows(collection.name, ((c.id, c.text, c.metadata) for c in read_all(collection)), words)

    @classmethod
    def from_chunks(cls, name: str, chunks: Iterable[Chunk], words: WordLists) -> Catalog:
        """The catalog straight from chunked records, without an index: for tools and fast tests."""
        return cls.from_rows(name, ((c.id, c.text, dict(c.metadata)) for c in chunks), words)

    @classmethod
    def from_rows(cls, name: str, rows: Iterable[tuple[str, str, Mapping[str, object]]], words: WordLists) -> Catalog:
        catalog = cls(collection_name=name, chunks=[], words=words)
        for cid, text, raw in rows:
            meta = {k: str(v) for k, v in raw.items()}
            chunk = IndexedChunk(
                id=cid,
                text=text,
                kind=meta.get("kind", ""),
                record_id=meta.get("record_id", ""),
                title=meta.get("title", ""),
                path=meta.get("path", ""),
                meta={k: v for k, v in meta.items() if k != "record"},
            )
            catalog.chunks.append(chunk)
            catalog.chunk_by_id[cid] = chunk
            if chunk.kind == "credential":
                catalog.credentials[chunk.record_id] = Credential.model_validate(json.loads(meta["record"]))
            elif chunk.kind == "occupation":
                catalog.occupations[chunk.record_id] = Occupation.model_validate(json.loads(meta["record"]))
        catalog.chunks.sort(key=lambda c: c.id)
        return catalog

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Every name and phrase the catalog's readers recognise, built on first use."""
        return Vocabulary.from_catalog(self)

    def credential_chunk(self, credential_id: str) -> IndexedChunk | None:
        for chunk in self.chunks:
            if chunk.kind == "credential" and chunk.record_id == credential_id:
                return chunk
        return None

    def occupation_chunk(self, occupation_id: str) -> IndexedChunk | None:
        for chunk in self.chunks:
            if chunk.kind == "occupation" and chunk.record_id == occupation_id:
                return chunk
        return None

    def guide_chunks(self, guide_id: str) -> list[IndexedChunk]:
        return [c for c in self.chunks if c.kind == "guide" and c.record_id == guide_id]

    def successor(self, credential: Credential) -> Credential | None:
        """The active credential that replaces a retired one, following chains of replacement."""
        seen = {credential.id}
        current = credential
        while current.status is Status.RETIRED and current.replaced_by and current.replaced_by not in seen:
            nxt = self.credentials.get(current.replaced_by)
            if nxt is None:
                return None
            seen.add(nxt.id)
            current = nxt
        return current if current.status is Status.ACTIVE and current.id != credential.id else None

    def next_steps(self, credential_id: str) -> list[Credential]:
        """Active credentials that build on this one: those that require it, then the next step of each pathway."""
        following = [
            c for c in self.credentials.values() if credential_id in c.prerequisite_ids and c.status is Status.ACTIVE
        ]
        for occupation in self.occupations.values():
            steps = [s.credential for s in occupation.pathway]
            if credential_id in steps and steps.index(credential_id) + 1 < len(steps):
                nxt = self.credentials.get(steps[steps.index(credential_id) + 1])
                if nxt is not None and nxt not in following and nxt.status is Status.ACTIVE:
                    following.append(nxt)
        return following

    def occupations_using(self, credential_id: str) -> list[Occupation]:
        """Occupations whose pathway includes this credential."""
        return [o for o in self.occupations.values() if any(s.credential == credential_id for s in o.pathway)]

    def names_of(self, credential: Credential) -> list[str]:
        """Every folded way of naming a credential: name, codes, aliases."""
        return [fold(n) for n in [credential.name, *credential.codes, *credential.aliases] if fold(n)]
