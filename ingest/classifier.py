"""Intent and field classifiers learned from the labelled corpus, over sentence embeddings and character n-grams.

The sentence embedding carries meaning across wordings ("keep servers running" is IT support); character
n-grams carry the exact words, typos included ("certifcation", "sec+"). One logistic regression per
question (the intent; the primary field, or none) reads both. Training is deterministic: the same corpus
and embedding model give the same weights, so the trained classifier is stored once under a key made of
both and reused until one of them changes.

Predicting needs numpy only: the n-gram analyzer below is the one the training used, and the weights
are plain arrays, so the bot never unpickles anything.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.corpus import FIELD_LABELS, NO_FIELD, Corpus, MessageIntent
from ingest.embeddings import SentenceTransformerEmbeddings

logger = logging.getLogger(__name__)

# Bumped whenever the features or the training change, so that older stored classifiers are not reused.
FEATURE_VERSION = 1
NGRAM_RANGE = (2, 5)
MIN_DOCUMENT_FREQUENCY = 2
# Chosen on the validation file (intent macro-F1, field accuracy), never on the test file.
INTENT_C = 4.0
FIELD_C = 64.0
_SPACES = re.compile(r"\s\s+")


def char_ngrams(text: str) -> list[str]:
    """Character n-grams inside word boundaries, as scikit-learn's `char_wb` analyzer makes them."""
    ngrams: list[str] = []
    low, high = NGRAM_RANGE
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            ngrams.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                ngrams.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n is counted once
                break
    return ngrams


@dataclass(frozen=True)
class LinearHead:
    """A multinomial logistic regression: one weight row and intercept per label."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (labels, embedding dimension + n-gram vocabulary)
    intercepts: np.ndarray  # (labels,)

    def probabilities(self, dense: np.ndarray, ngram_ids: np.ndarray, ngram_values: np.ndarray) -> dict[str, float]:
        dimension = dense.shape[0]
        scores = self.weights[:, :dimension] @ dense + self.intercepts
        if ngram_ids.size:
            scores = scores + self.weights[:, dimension + ngram_ids] @ ngram_values
        scores = scores - scores.max()
        exp = np.exp(scores)
        return dict(zip(self.labels, (exp / exp.sum()).tolist(), strict=True))


@dataclass(frozen=True)
class Prediction:
    intents: dict[str, float]
    fields: dict[str, float]  # the primary field, or NO_FIELD

    @property
    def intent(self) -> tuple[str, float]:
        return max(self.intents.items(), key=lambda item: item[1])

    @property
    def field(self) -> tuple[str, float]:
        return max(self.fields.items(), key=lambda item: item[1])


@dataclass(frozen=True)
class MessageClassifier:
    vocabulary: dict[str, int]
    idf: np.ndarray
    intent_head: LinearHead
    field_head: LinearHead
    key: str

    def ngram_features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The message's tf-idf n-gram vector as (ids, values): sublinear counts, times idf, unit length."""
        counts = Counter(self.vocabulary[g] for g in char_ngrams(text) if g in self.vocabulary)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        ids = np.fromiter(counts.keys(), dtype=np.int64)
        values = np.array([(1.0 + math.log(c)) for c in counts.values()]) * self.idf[ids]
        return ids, values / np.linalg.norm(values)

    def predict(self, text: str, vector: Sequence[float] | np.ndarray) -> Prediction:
        """What `text` asks, given its sentence embedding (the one retrieval uses, so nothing is embedded twice)."""
        dense = np.asarray(vector, dtype=np.float64)
        ids, values = self.ngram_features(text)
        return Prediction(
            self.intent_head.probabilities(dense, ids, values), self.field_head.probabilities(dense, ids, values)
        )

    # -- storage ------------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.partial")
        with staging.open("wb") as handle:
            np.savez(
                handle,
                key=np.array(self.key),
                ngrams=np.array(sorted(self.vocabulary, key=self.vocabulary.__getitem__)),
                idf=self.idf,
                intent_labels=np.array(self.intent_head.labels),
                intent_weights=self.intent_head.weights,
                intent_intercepts=self.intent_head.intercepts,
                field_labels=np.array(self.field_head.labels),
                field_weights=self.field_head.weights,
                field_intercepts=self.field_head.intercepts,
            )
        staging.replace(path)  # whole or not at all: another process may be reading it

    @classmethod
    def load(cls, path: Path) -> MessageClassifier:
        with np.load(path, allow_pickle=False) as stored:
            return cls(
                vocabulary={str(g): i for i, g in enumerate(stored["ngrams"])},
                idf=stored["idf"],
                intent_head=LinearHead(
                    tuple(str(x) for x in stored["intent_labels"]),
                    stored["intent_weights"],
                    stored["intent_intercepts"],
                ),
                field_head=LinearHead(
                    tuple(str(x) for x in stored["field_labels"]), stored["field_weights"], stored["field_intercepts"]
                ),
                key=str(stored["key"]),
            )


def classifier_key(corpus: Corpus, embeddings: SentenceTransformerEmbeddings) -> str:
    """Names one trained classifier: the corpus, the embedding model and the feature version."""
    parts = f"{corpus.digest()}|{embeddings.model_name}|{embeddings.dimension}|{FEATURE_VERSION}"
    return hashlib.sha256(parts.encode("utf-8")).hexdigest()[:20]


def train(corpus: Corpus, embeddings: SentenceTransformerEmbeddings) -> MessageClassifier:
    """Fit both heads on the training file; deterministic for a given corpus and model."""
    # scikit-learn is needed to train only, never to predict
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [m.text for m in corpus.train]
    dense = np.asarray(embeddings.embed_documents(texts), dtype=np.float64)
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, min_df=MIN_DOCUMENT_FREQUENCY, sublinear_tf=True)
    ngrams = vectorizer.fit_transform(texts)
    features = hstack([csr_matrix(dense), ngrams]).tocsr()

    def fit(labels: list[str], c: float, known: Sequence[str]) -> LinearHead:
        model = LogisticRegression(C=c, max_iter=5000).fit(features, labels)
        classes = tuple(str(x) for x in model.classes_)
        unknown = set(classes) - set(known)
        if unknown:
            raise ValueError(f"labels outside the known set: {sorted(unknown)}")
        return LinearHead(classes, np.asarray(model.coef_), np.asarray(model.intercept_))

    intent_head = fit([m.intent.value for m in corpus.train], INTENT_C, [i.value for i in MessageIntent])
    field_head = fit([m.primary_field for m in corpus.train], FIELD_C, [*FIELD_LABELS, NO_FIELD])
    vocabulary = {str(g): int(i) for g, i in vectorizer.vocabulary_.items()}
    return MessageClassifier(
        vocabulary, np.asarray(vectorizer.idf_), intent_head, field_head, classifier_key(corpus, embeddings)
    )


def stored_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"understanding-{key}.npz"


def ensure_classifier(
    knowledge_dir: Path, embeddings: SentenceTransformerEmbeddings, cache_dir: Path
) -> MessageClassifier | None:
    """The classifier for this corpus and model: the stored one, or trained now and stored for next time.

    None when the knowledge base has no labelled corpus; CorpusError when it has a broken one.
    """
    corpus = Corpus.load_if_present(knowledge_dir)
    if corpus is None:
        return None
    path = stored_path(cache_dir, classifier_key(corpus, embeddings))
    if path.is_file():
        return MessageClassifier.load(path)
    logger.info("training the understanding classifiers on %d labelled messages", len(corpus.train))
    classifier = train(corpus, embeddings)
    classifier.save(path)
    return classifier
