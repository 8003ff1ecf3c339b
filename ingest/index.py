"""The Chroma index: build it crash-safely, open it, and read it back.

Each build that changes anything writes a fresh *generation* collection, copies the embeddings of
unchanged chunks from the live one, embeds only what is new, verifies the result, and only then
moves the pointer. A crash at any moment leaves the pointer on the previous, complete generation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from ingest.chunking import Chunk
from ingest.embeddings import SentenceTransformerEmbeddings

logger = logging.getLogger(__name__)

POINTER_COLLECTION = "career-knowledge-pointer"
GENERATION_PREFIX = "career-knowledge-g"
SCHEMA_VERSION = 1


class IndexUnavailable(RuntimeError):
    """The index is missing or cannot be used with this configuration."""


class IndexBuildError(RuntimeError):
    """A freshly built generation failed verification; the live index is left as it was."""


def make_client(chroma_path: Path | None = None, chroma_url: str | None = None) -> ClientAPI:
    """A Chroma client for a local directory or, when a URL is given, a Chroma server."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        except ValueError as error:  # HttpClient calls the server at once and reports any failure as ValueError
            raise IndexUnavailable(f"cannot reach the Chroma server at {chroma_url}: {error}") from None
    if chroma_path is None:
        raise ValueError("either chroma_path or chroma_url is required")
    chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_path), settings=settings)


def _pointer(client: ClientAPI) -> Collection:
    return client.get_or_create_collection(POINTER_COLLECTION, metadata={"active": ""})


def active_collection_name(client: ClientAPI) -> str | None:
    try:
        pointer = client.get_collection(POINTER_COLLECTION)
    except Exception:
        return None
    name = (pointer.metadata or {}).get("active")
    return str(name) if name else None


def open_active_collection(client: ClientAPI, embeddings: SentenceTransformerEmbeddings) -> Collection:
    """The live generation, after checking it was built with the same embedding model."""
    name = active_collection_name(client)
    if not name:
        raise IndexUnavailable("no knowledge index found; run `python -m ingest` (or `make run`) first")
    collection = client.get_collection(name)
    meta = collection.metadata or {}
    built_with = meta.get("embedding_model")
    if built_with != embeddings.model_name or int(meta.get("embedding_dimension", -1)) != embeddings.dimension:
        raise IndexUnavailable(
            f"the index was built with embedding model {built_with!r} "
            f"(dimension {meta.get('embedding_dimension')}), but EMBEDDING_MODEL is "
            f"{embeddings.model_name!r} (dimension {embeddings.dimension}); re-run `python -m ingest` to rebuild it"
        )
    return collection


@dataclass(frozen=True)
class IngestReport:
    records: int
    chunks: int
    added: int
    updated: int
    removed: int
    unchanged: int
    seconds: float
    collection: str

    @property
    def wrote_anything(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"{self.records} records, {self.chunks} chunks: {self.added} added, {self.updated} updated, "
            f"{self.removed} removed, {self.unchanged} unchanged in {self.seconds:.1f} s"
        )


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Rows per `get()`: an unpaged get of a whole collection binds one SQL variable per row and fails
# beyond SQLite's limit of 32,766 with "too many SQL variables".
READ_PAGE = 5_000


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]


def read_all(collection: Collection, *, with_text: bool = True, page: int = READ_PAGE) -> Iterator[StoredChunk]:
    """Every chunk of a collection, read `page` rows at a time."""
    include: list[Any] = ["documents", "metadatas"] if with_text else ["metadatas"]
    offset = 0
    while True:
        got = collection.get(include=include, limit=page, offset=offset)
        documents = got["documents"] if with_text and got["documents"] is not None else [""] * len(got["ids"])
        for cid, text, meta in zip(got["ids"], documents, got["metadatas"] or [], strict=True):
            yield StoredChunk(cid, text or "", dict(meta or {}))
        offset += len(got["ids"])
        if len(got["ids"]) < page:
            return


def existing_doc_keys(collection: Collection | None) -> dict[str, str]:
    """chunk id -> doc key of every chunk in a collection."""
    if collection is None:
        return {}
    return {stored.id: str(stored.metadata.get("doc_key", "")) for stored in read_all(collection, with_text=False)}


def build_index(
    client: ClientAPI,
    chunks: Sequence[Chunk],
    embeddings: SentenceTransformerEmbeddings,
    *,
    records: int,
    progress: Callable[[int], None] | None = None,
    before_switch: Callable[[], None] | None = None,
) -> IngestReport:
    """Bring the index in line with `chunks`, writing nothing when nothing changed.

    `before_switch` runs right before the pointer moves to the new generation; an exception from it
    leaves the previous generation live (an ingest that lost its lock raises there).
    """
    started = time.perf_counter()
    if len({c.id for c in chunks}) != len(chunks):
        raise ValueError("chunk ids are not unique")
    try:
        live: Collection | None = open_active_collection(client, embeddings)
    except IndexUnavailable:
        live = None  # no index yet, or one built with another model: rebuild from scratch
    old = existing_doc_keys(live)
    wanted = {c.id: c for c in chunks}
    new_ids = [cid for cid in wanted if cid not in old]
    gone_ids = [cid for cid in old if cid not in wanted]
    old_docs = {old[cid] for cid in gone_ids}
    new_docs = {wanted[cid].doc_key for cid in new_ids}
    updated = len(old_docs & new_docs)
    report_args = {
        "records": records,
        "chunks": len(chunks),
        "added": len(new_docs - old_docs),
        "updated": updated,
        "removed": len(old_docs - new_docs),
        "unchanged": len(chunks) - len(new_ids),
    }
    _drop_orphans(client, keep={live.name} if live else set())
    if live is not None and not new_ids and not gone_ids:
        return IngestReport(**report_args, seconds=time.perf_counter() - started, collection=live.name)

    generation = client.create_collection(
        f"{GENERATION_PREFIX}{time.time_ns()}",
        configuration={"hnsw": {"space": "cosine"}},
        metadata={
            "embedding_model": embeddings.model_name,
            "embedding_dimension": embeddings.dimension,
            "schema_version": SCHEMA_VERSION,
        },
    )
    batch = client.get_max_batch_size()
    kept = [cid for cid in wanted if cid in old]
    # Said before the first write, so an operator (or a crash test) knows a half-built generation may be left.
    logger.info("writing index generation %s: %d chunks kept, %d to embed", generation.name, len(kept), len(new_ids))
    if live is not None:
        for ids in _batches(kept, batch):
            got = live.get(ids=list(ids), include=["embeddings"])
            vectors = dict(zip(got["ids"], got["embeddings"] if got["embeddings"] is not None else [], strict=False))
            _add(generation, [wanted[i] for i in ids], [list(vectors[i]) for i in ids])
            if progress:
                progress(len(ids))
    for part in _batches([wanted[cid] for cid in new_ids], min(batch, 256)):
        _add(generation, part, embeddings.embed_documents([c.text for c in part]))
        if progress:
            progress(len(part))

    _verify(generation, chunks)
    if before_switch is not None:
        before_switch()
    _pointer(client).modify(metadata={"active": generation.name})
    logger.info("index switched to %s", generation.name)
    # The previous generation stays until the next build, so a running bot that still has it
    # open can finish its query and then follow the pointer.
    _drop_orphans(client, keep={generation.name} | ({live.name} if live else set()))
    return IngestReport(**report_args, seconds=time.perf_counter() - started, collection=generation.name)


def _add(collection: Collection, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
    collection.add(
        ids=[c.id for c in chunks],
        documents=[c.text for c in chunks],
        metadatas=[dict(c.metadata) for c in chunks],
        embeddings=[list(v) for v in vectors],  # type: ignore[arg-type]
    )


def _verify(collection: Collection, chunks: Sequence[Chunk]) -> None:
    """Refuse to switch to a generation that is incomplete or cannot answer a query."""
    if collection.count() != len(chunks):
        raise IndexBuildError(f"new index holds {collection.count()} chunks, expected {len(chunks)}")
    canary = chunks[0]
    got = collection.get(ids=[canary.id], include=["embeddings"])
    if got["embeddings"] is None or not len(got["embeddings"]):
        raise IndexBuildError("canary chunk has no embedding")
    hit = collection.query(query_embeddings=[list(got["embeddings"][0])], n_results=1)  # type: ignore[arg-type]
    if not hit["ids"] or not hit["ids"][0]:
        raise IndexBuildError("canary query returned nothing")


def _drop_orphans(client: ClientAPI, keep: set[str]) -> None:
    """Delete generations that are not live: leftovers of crashed or superseded builds."""
    for name in _generation_names(client):
        if name not in keep:
            client.delete_collection(name)
            logger.debug("dropped stale index generation %s", name)


def _generation_names(client: ClientAPI) -> Iterable[str]:
    for item in client.list_collections():
        name = item if isinstance(item, str) else item.name
        if name.startswith(GENERATION_PREFIX):
            yield name
