"""Hybrid retrieval: dense search in Chroma fused with BM25 over the same chunks."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection
from langchain_chroma import Chroma
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.models import Facets
from ingest.multilingual import ChunkVectors

RRF_K = 60
_TOKEN = re.compile(r"[a-z0-9+#]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "i'm",
        "im",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "should",
        "so",
        "that",
        "the",
        "to",
        "what",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "want",
        "get",
        "into",
    ]
)


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


# Words that ask for a credential without saying what it should be about.
_REQUEST_WORDS = frozenset(
    [
        "cert",
        "certs",
        "certificate",
        "certificates",
        "certification",
        "certifications",
        "certified",
        "certify",
        "credential",
        "credentials",
        "micro",
        "exam",
        "exams",
        "test",
        "course",
        "courses",
        "program",
        "programme",
        "programs",
        "training",
        "qualification",
        "qualifications",
        "badge",
        "badges",
        "good",
        "best",
        "top",
        "great",
        "right",
        "easy",
        "easiest",
        "quick",
        "quickest",
        "fast",
        "popular",
        "recommend",
        "recommended",
        "recommendation",
        "suggest",
        "suggestion",
        "something",
        "anything",
        "one",
        "take",
        "study",
        "next",
        "learn",
        "learning",
        "start",
        "begin",
        "first",
        "need",
        "like",
        "would",
        "could",
        "think",
        "about",
        "there",
        "any",
        "some",
        "worth",
        "valuable",
        "useful",
        "option",
        "options",
        "choose",
        "pick",
        "us",
        "now",
        "today",
        "this",
        "year",
        "new",
        "do",
        "doing",
        "help",
        "kind",
        "sort",
        "type",
        "types",
        "list",
    ]
)


def topic_terms(question: str) -> list[str]:
    """The words of a request that say what it is about ("linux" in "I want to learn Linux"), if any."""
    return [t for t in tokenize(question) if t not in _REQUEST_WORDS and not t.isdigit()]


@dataclass(frozen=True)
class Scored:
    chunk: IndexedChunk
    score: float


class Bm25Okapi:
    """Okapi BM25 over an inverted index, scoring only the chunks that hold a query term.

    The formula, the idf floor for terms in more than half the chunks, and the order in which a
    chunk's term scores are summed are those of rank_bm25's `BM25Okapi`, so the scores are the same
    to the last bit; that library scores every chunk for every term, which grows with the index.
    """

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1 = k1
        self.size = len(corpus)
        self.postings: dict[str, list[tuple[int, int]]] = {}  # term -> (chunk number, term frequency)
        for number, document in enumerate(corpus):
            for term, frequency in Counter(document).items():
                self.postings.setdefault(term, []).append((number, frequency))
        average_length = sum(len(d) for d in corpus) / self.size
        # the part of each chunk's denominator that does not depend on the term frequency
        self._length_norm = [k1 * (1 - b + b * len(d) / average_length) for d in corpus]
        self.idf: dict[str, float] = {}
        negative = []
        for term, posting in self.postings.items():
            idf = math.log(self.size - len(posting) + 0.5) - math.log(len(posting) + 0.5)
            self.idf[term] = idf
            if idf < 0:
                negative.append(term)
        floor = epsilon * sum(self.idf.values()) / len(self.idf) if self.idf else 0.0
        for term in negative:
            self.idf[term] = floor

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        """chunk number -> score, for the chunks that hold at least one query term."""
        scores: dict[int, float] = {}
        for term in query:  # repeated terms count again, as in rank_bm25
            idf = self.idf.get(term)
            if not idf:
                continue
            for number, frequency in self.postings[term]:
                part = idf * (frequency * (self.k1 + 1) / (frequency + self._length_norm[number]))
                scores[number] = scores.get(number, 0.0) + part
        return scores


class LexicalIndex:
    """BM25 over every chunk's text and title."""

    def __init__(self, chunks: Sequence[IndexedChunk]) -> None:
        self.chunks = list(chunks)
        corpus = [tokenize(f"{c.title} {c.title} {c.text}") for c in self.chunks]
        self._bm25 = Bm25Okapi(corpus) if corpus else None

    def mentions(self, terms: Sequence[str], kind: str) -> bool:
        """Whether any chunk of this kind holds any of the terms."""
        if self._bm25 is None:
            return False
        return any(
            self.chunks[number].kind == kind for term in terms for number, _ in self._bm25.postings.get(term, ())
        )

    def search(self, query: str, k: int, kinds: Sequence[str] | None = None) -> list[Scored]:
        tokens = tokenize(query)
        if not tokens or self._bm25 is None:
            return []
        scored = self._bm25.scores(tokens)
        hits = []
        for number in sorted((n for n, score in scored.items() if score > 0), key=lambda n: (-scored[n], n)):
            if kinds and self.chunks[number].kind not in kinds:
                continue
            hits.append(Scored(self.chunks[number], scored[number]))
            if len(hits) == k:
                break
        return hits


class DenseIndex:
    """Cosine search in the live Chroma collection; a hit's score is its cosine similarity.

    `store` is the collection as a LangChain vector store, for chains and retrievers. The searches
    here ask the collection for ids and distances only: the catalog already holds every chunk, and
    having Chroma also return documents and metadata made each search about four times slower.
    """

    def __init__(self, store: Chroma, collection: Collection, catalog: Catalog) -> None:
        self.store = store
        self.collection = collection
        self.catalog = catalog

    def search(
        self, vector: Sequence[float], k: int, kinds: Sequence[str] | None = None, where: dict[str, Any] | None = None
    ) -> list[Scored]:
        if kinds:
            by_kind = {"kind": kinds[0]} if len(kinds) == 1 else {"kind": {"$in": list(kinds)}}
            where = {"$and": [by_kind, where]} if where else by_kind
        results = self.collection.query(
            query_embeddings=[list(vector)],  # type: ignore[arg-type]
            n_results=k,
            where=where,
            include=["distances"],
        )
        distances = results["distances"][0] if results["distances"] else []
        hits = []
        for cid, distance in zip(results["ids"][0], distances, strict=True):
            chunk = self.catalog.chunk_by_id.get(cid)
            if chunk is not None:
                # the collection's space is cosine: distance = 1 - cosine similarity
                hits.append(Scored(chunk, 1.0 - float(distance)))
        return hits


class VectorIndex:
    """Cosine search over chunk vectors held in memory: the multilingual model's (ingest/multilingual.py).

    Searched like DenseIndex, with the same `where` filters, evaluated here on the chunks' metadata.
    """

    def __init__(self, vectors: ChunkVectors, catalog: Catalog) -> None:
        known = [i for i, cid in enumerate(vectors.ids) if cid in catalog.chunk_by_id]
        self.chunks = [catalog.chunk_by_id[vectors.ids[i]] for i in known]
        self.vectors = vectors.vectors[known]

    def search(
        self, vector: Sequence[float], k: int, kinds: Sequence[str] | None = None, where: dict[str, Any] | None = None
    ) -> list[Scored]:
        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        hits: list[Scored] = []
        for i in np.argsort(-scores):
            chunk = self.chunks[int(i)]
            if kinds and chunk.kind not in kinds:
                continue
            if where and not _satisfies(chunk.meta, where):
                continue
            hits.append(Scored(chunk, float(scores[int(i)])))
            if len(hits) == k:
                break
        return hits


def _satisfies(meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """Chroma's `where` operators that facet_filters uses: $and, $in, $lte and equality."""
    for key, condition in where.items():
        if key == "$and":
            if not all(_satisfies(meta, part) for part in condition):
                return False
            continue
        value = meta.get(key)
        if isinstance(condition, Mapping):
            if "$in" in condition and value not in condition["$in"]:
                return False
            if "$lte" in condition and not (isinstance(value, int | float) and value <= condition["$lte"]):
                return False
        elif value != condition:
            return False
    return True


def facet_filters(facets: Facets) -> list[dict[str, Any]]:
    """Chroma `where` filters for what the question asks, strictest first.

    The filtered searches are extra ranked lists in the fusion, not gates: a credential named in
    the question, or a good match just outside a facet, still reaches the ranking.
    """
    if not facets.domains:
        return []
    clauses: list[dict[str, Any]] = [
        {"kind": "credential"},
        {"status": "active"},
        {"domain": {"$in": [d.value for d in facets.domains]}},
    ]
    strict = list(clauses)
    if facets.level is not None:
        strict.append({"level": facets.level.value})
    if facets.free_only:
        strict.append({"cost_max": {"$lte": 0.0}})
    elif facets.budget_usd is not None:
        strict.append({"cost_max": {"$lte": float(facets.budget_usd)}})
    filters = [{"$and": clauses}]
    if len(strict) > len(clauses):
        filters.insert(0, {"$and": strict})
    return filters


def reciprocal_rank_fusion(*rankings: Sequence[Scored], weights: Sequence[float] | None = None) -> list[Scored]:
    """Fuse ranked lists by summing 1/(k + rank); robust to the lists' different score scales."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, float] = {}
    chunks: dict[str, IndexedChunk] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(ranking):
            fused[hit.chunk.id] = fused.get(hit.chunk.id, 0.0) + weight / (RRF_K + rank + 1)
            chunks[hit.chunk.id] = hit.chunk
    return [Scored(chunks[cid], score) for cid, score in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]


@dataclass
class Retrieved:
    """What the searches for one question found, sorted by kind of record."""

    credentials: dict[str, float] = field(default_factory=dict)  # credential id -> fused relevance
    guides: list[IndexedChunk] = field(default_factory=list)
    occupations: list[IndexedChunk] = field(default_factory=list)
    best_credential_similarity: float = 0.0


def gather(dense: Sequence[Scored], fused: Sequence[Scored]) -> Retrieved:
    """Sort the fused hits by kind; the best dense credential similarity says whether any is relevant."""
    out = Retrieved()
    for hit in dense:
        if hit.chunk.kind == "credential":
            out.best_credential_similarity = max(out.best_credential_similarity, hit.score)
    for hit in fused:
        if hit.chunk.kind == "credential":
            out.credentials.setdefault(hit.chunk.record_id, hit.score)
        elif hit.chunk.kind == "guide":
            out.guides.append(hit.chunk)
        elif hit.chunk.kind == "occupation":
            out.occupations.append(hit.chunk)
    return out


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class HybridRetriever(BaseRetriever):
    """The fused retriever as a LangChain retriever, for chains that want `Document`s."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    dense: DenseIndex
    lexical: LexicalIndex
    k: int = 8

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        vector = self.dense.store.embeddings.embed_query(query) if self.dense.store.embeddings else []
        fused = reciprocal_rank_fusion(self.dense.search(vector, self.k * 2), self.lexical.search(query, self.k * 2))
        return [
            Document(page_content=hit.chunk.text, id=hit.chunk.id, metadata={**hit.chunk.meta, "score": hit.score})
            for hit in fused[: self.k]
        ]
