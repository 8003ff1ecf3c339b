"""Numbered sources: every fact in an answer points at the record it came from."""

from __future__ import annotations

from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.models import Source


class SourceList:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._order: list[str] = []
        self._sources: dict[str, Source] = {}

    def cite(self, chunk: IndexedChunk | None) -> str:
        """The citation marker for a chunk, numbering it on first use."""
        if chunk is None:
            return ""
        key = f"{chunk.kind}:{chunk.record_id}:{chunk.meta.get('part', '0')}"
        if key not in self._sources:
            self._order.append(key)
            self._sources[key] = Source(id=chunk.record_id, title=chunk.title, path=chunk.path)
        return f"[{self._order.index(key) + 1}]"

    def cite_credential(self, credential_id: str) -> str:
        return self.cite(self.catalog.credential_chunk(credential_id))

    def cite_occupation(self, occupation_id: str) -> str:
        return self.cite(self.catalog.occupation_chunk(occupation_id))

    @property
    def sources(self) -> list[Source]:
        return [self._sources[key] for key in self._order]
