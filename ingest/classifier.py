"""Intent and field classifiers learned from the labelled corpus, over sentence embeddings and term blocks.

The sentence embedding carries meaning across wordings ("keep servers running" is IT support); character
n-grams carry the exact words, typos included ("certifcation", "sec+"); words and word pairs carry the
phrasings that decide an intent ("can you book", "do you cover", "vs"). One logistic regression per
question (the intent; the primary field, or none) reads all three. Training is deterministic: the same corpus
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
from itertools import pairwise
from pathlib import Path

import numpy as np

from ingest.corpus import FIELD_LABELS, NO_FIELD, Corpus, MessageIntent
from ingest.embeddings import TextEmbedder

logger = logging.getLogger(__name__)

# Bumped whenever the features or the training change, so that older stored classifiers are not reused.
FEATURE_VERSION = 2
NGRAM_RANGE = (2, 5)
MIN_DOCUMENT_FREQUENCY = 2
# Chosen on the validation file (intent macro-F1, field accuracy), never on the test file.
INTENT_C = 8.0
FIELD_C = 64.0
# Intents are weighted by the inverse of their frequency: every intent counts alike in macro-F1, and a
# rare one (a pasted job ad) must not lose to a frequent neighbour just for being rare.
INTENT_CLASS_WEIGHT = "balanced"
_SPACES = re.compile(r"\s\s+")
_WORD = re.compile(r"[a-z0-9+#]+")


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


def word_terms(text: str) -> list[str]:
    """Words and adjacent word pairs, lower-cased; symbols other than + and # separate words."""
    words = _WORD.findall(text.lower())
    return words + [f"{first} {second}" for first, second in pairwise(words)]


# The term blocks in the order their features follow the embedding; each is tf-idf weighted and
# normalised on its own, so that neither drowns the other.
ANALYZERS = {"char": char_ngrams, "word": word_terms}


@dataclass(frozen=True)
class TermBlock:
    """One block of tf-idf features: the analyzer that makes its terms, their ids and weights."""

    analyzer: str
    vocabulary: dict[str, int]
    idf: np.ndarray

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's tf-idf vector in this block as (ids, values): sublinear counts, times idf, unit length."""
        counts = Counter(self.vocabulary[t] for t in ANALYZERS[self.analyzer](text) if t in self.vocabulary)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        ids = np.fromiter(counts.keys(), dtype=np.int64)
        values = np.array([(1.0 + math.log(c)) for c in counts.values()]) * self.idf[ids]
        return ids, values / np.linalg.norm(values)


@dataclass(frozen=True)
class LinearHead:
    """A multinomial logistic regression: one weight row and intercept per label."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (labels, embedding dimension + n-gram vocabulary)
    intercepts: np.ndarray  # (labels,)

    def probabilities(self, dense: np.ndarray, term_ids: np.ndarray, term_values: np.ndarray) -> dict[str, float]:
        """`term_ids` index the columns after the embedding's."""
        dimension = dense.shape[0]
        scores = self.weights[:, :dimension] @ dense + self.intercepts
        if term_ids.size:
            scores = scores + self.weights[:, dimension + term_ids] @ term_values
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
    blocks: tuple[TermBlock, ...]
    intent_head: LinearHead
    field_head: LinearHead
    key: str

    def term_features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """All term blocks side by side as (ids, values), ids counted from the first block's first column."""
        ids: list[np.ndarray] = []
        values: list[np.ndarray] = []
        offset = 0
        for block in self.blocks:
            block_ids, block_values = block.features(text)
            ids.append(block_ids + offset)
            values.append(block_values)
            offset += len(block.vocabulary)
        return np.concatenate(ids), np.concatenate(values)

    def predict(self, text: str, vector: Sequence[float] | np.ndarray) -> Prediction:
        """What `text` asks, given its sentence embedding (the one retrieval uses, so nothing is embedded twice)."""
        dense = np.asarray(vector, dtype=np.float64)
        ids, values = self.term_features(text)
        return Prediction(
            self.intent_head.probabilities(dense, ids, values), self.field_head.probabilities(dense, ids, values)
        )

    # -- storage ------------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.partial")
        arrays: dict[str, np.ndarray] = {
            "key": np.array(self.key),
            "analyzers": np.array([block.analyzer for block in self.blocks]),
            "intent_labels": np.array(self.intent_head.labels),
            "intent_weights": self.intent_head.weights,
            "intent_intercepts": self.intent_head.intercepts,
            "field_labels": np.array(self.field_head.labels),
            "field_weights": self.field_head.weights,
            "field_intercepts": self.field_head.intercepts,
        }
        for block in self.blocks:
            arrays[f"{block.analyzer}_terms"] = np.array(sorted(block.vocabulary, key=block.vocabulary.__getitem__))
            arrays[f"{block.analyzer}_idf"] = block.idf
        with staging.open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # the stub types every keyword as allow_pickle
        staging.replace(path)  # whole or not at all: another process may be reading it

    @classmethod
    def load(cls, path: Path) -> MessageClassifier:
        with np.load(path, allow_pickle=False) as stored:
            return cls(
                blocks=tuple(
                    TermBlock(
                        str(name),
                        {str(term): i for i, term in enumerate(stored[f"{name}_terms"])},
                        stored[f"{name}_idf"],
                    )
                    for name in stored["analyzers"]
                ),
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


def classifier_key(corpus: Corpus, embeddings: TextEmbedder) -> str:
    """Names one trained classifier: the corpus, the embedding model and the feature version."""
    parts = f"{corpus.digest()}|{embeddings.model_name}|{embeddings.dimension}|{FEATURE_VERSION}"
    return hashlib.sha256(parts.encode("utf-8")).hexdigest()[:20]


def train(corpus: Corpus, embeddings: TextEmbedder) -> MessageClassifier:
    """Fit both heads on the training file; deterministic for a given corpus and model."""
    # scikit-learn is needed to train only, never to predict
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [m.text for m in corpus.train]
    dense = np.asarray(embeddings.embed_queries(texts), dtype=np.float64)
    blocks: list[TermBlock] = []
    matrices = [csr_matrix(dense)]
    for name, analyzer in ANALYZERS.items():
        vectorizer = TfidfVectorizer(analyzer=analyzer, min_df=MIN_DOCUMENT_FREQUENCY, sublinear_tf=True)
        matrices.append(vectorizer.fit_transform(texts))
        vocabulary = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
        blocks.append(TermBlock(name, vocabulary, np.asarray(vectorizer.idf_)))
    features = hstack(matrices).tocsr()

    def fit(labels: list[str], c: float, known: Sequence[str], class_weight: str | None = None) -> LinearHead:
        model = LogisticRegression(C=c, max_iter=5000, class_weight=class_weight).fit(features, labels)
        classes = tuple(str(x) for x in model.classes_)
        unknown = set(classes) - set(known)
        if unknown:
            raise ValueError(f"labels outside the known set: {sorted(unknown)}")
        return LinearHead(classes, np.asarray(model.coef_), np.asarray(model.intercept_))

    intent_head = fit(
        [m.intent.value for m in corpus.train], INTENT_C, [i.value for i in MessageIntent], INTENT_CLASS_WEIGHT
    )
    field_head = fit([m.primary_field for m in corpus.train], FIELD_C, [*FIELD_LABELS, NO_FIELD])
    return MessageClassifier(tuple(blocks), intent_head, field_head, classifier_key(corpus, embeddings))


def stored_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"understanding-{key}.npz"


def ensure_classifier(knowledge_dir: Path, embeddings: TextEmbedder, cache_dir: Path) -> MessageClassifier | None:
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
