"""The Advisor: understand -> retrieve -> rank -> compose, behind one `answer()` call.

The Advisor owns the live index (loading it, and switching to a newer generation while it answers)
and the searches in it; what to answer for each intent is the policy's (bot/advisor/policy.py).
The same Advisor serves Telegram, the terminal chat and `python -m bot ask`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError
from langchain_chroma import Chroma

from bot.advisor.catalog import Catalog
from bot.advisor.language import ENGLISH, LanguageDetector
from bot.advisor.models import Answer, Facets, Profile, Turn
from bot.advisor.policy import AnswerPolicy
from bot.advisor.retrieval import (
    DenseIndex,
    LexicalIndex,
    Retrieved,
    Scored,
    VectorIndex,
    facet_filters,
    gather,
    reciprocal_rank_fusion,
)
from bot.advisor.understanding import Understanding, understand
from bot.advisor.vocabulary import Vocabulary
from bot.heap import freeze_long_lived
from ingest.classifier import MessageClassifier, Prediction, ensure_classifier
from ingest.corpus import CorpusError
from ingest.embeddings import SentenceTransformerEmbeddings, TextEmbedder
from ingest.index import active_collection_name, open_active_collection
from ingest.multilingual import MultilingualEmbeddings, ensure_chunk_vectors
from ingest.vocabulary import VOCABULARY_FILE, load_vocabulary

logger = logging.getLogger(__name__)

DENSE_K = 60
LEXICAL_K = 40
FILTERED_K = 20
FILTERED_ENOUGH = 8
REFRESH_SECONDS = 30.0
# The knowledge folder's word lists, where the bot runs from the project's folder (Settings.knowledge_dir's default).
DEFAULT_VOCABULARY = Path("knowledge") / VOCABULARY_FILE


@dataclass
class _Loaded:
    catalog: Catalog
    vocab: Vocabulary
    lexical: LexicalIndex
    dense: DenseIndex
    multilingual_dense: VectorIndex | None = None  # the knowledge as the multilingual model reads it


@dataclass(frozen=True)
class Reader:
    """How a question is read: in English, or in another language with the multilingual model."""

    embeddings: TextEmbedder
    classifier: MessageClassifier | None
    dense: DenseIndex | VectorIndex


@dataclass(frozen=True)
class ClassifierSource:
    """Where the understanding classifiers come from: the labelled corpus, and where trained ones are kept."""

    knowledge_dir: Path
    cache_dir: Path


class Advisor:
    """Answers questions about credentials and careers from the live knowledge index."""

    def __init__(
        self,
        client: ClientAPI,
        embeddings: SentenceTransformerEmbeddings,
        *,
        understanding: ClassifierSource | None = None,
        vocabulary: Path = DEFAULT_VOCABULARY,
        multilingual: MultilingualEmbeddings | None = None,
    ) -> None:
        self.client = client
        self.embeddings = embeddings
        # questions in other languages are read with this model, when there is one and a cache to keep its work in
        self.multilingual = multilingual if understanding is not None else None
        self.multilingual_classifier: MessageClassifier | None = None
        self.understanding = understanding
        self.vocabulary = vocabulary  # knowledge/vocabulary.yaml, read with each index it loads
        self.classifier: MessageClassifier | None = None  # without one, the rules read questions on their own
        self.languages = LanguageDetector()
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._workers: ThreadPoolExecutor | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def load(self) -> None:
        """Load the model and the live index now; raises IndexUnavailable if there is none,
        VocabularyError if the word lists cannot be read."""
        self.embeddings.load()
        self.languages.load()  # before the first question, which should not wait for it
        if self.multilingual is not None:
            try:
                self.multilingual.load()
            except (OSError, RuntimeError) as problem:
                # the English model answers every question then, as with MULTILINGUAL_MODEL=none
                logger.error("could not load the multilingual model (%s); reading every question as English", problem)
                self.multilingual = None
        self._reload()
        if self.understanding is not None and self.classifier is None:
            try:
                self.classifier = ensure_classifier(
                    self.understanding.knowledge_dir, self.embeddings, self.understanding.cache_dir
                )
                if self.multilingual is not None:
                    self.multilingual_classifier = ensure_classifier(
                        self.understanding.knowledge_dir, self.multilingual, self.understanding.cache_dir
                    )
            except (OSError, CorpusError) as problem:
                # `python -m ingest --check` names the problem; questions are still read by the rules
                logger.error(
                    "could not load the understanding classifiers (%s); reading questions by rules only", problem
                )
            else:
                if self.classifier is None:
                    logger.info(
                        "no labelled corpus in %s: questions are read by rules only", self.understanding.knowledge_dir
                    )

    def _reload(self) -> None:
        collection = open_active_collection(self.client, self.embeddings)
        # read again with every index: an ingest that switches the index may follow an edit of the word lists
        catalog = Catalog.from_collection(collection, load_vocabulary(self.vocabulary))
        store = Chroma(
            client=self.client,
            collection_name=collection.name,
            embedding_function=self.embeddings,
            create_collection_if_not_exists=False,
        )
        multilingual_dense = None
        if self.multilingual is not None and self.understanding is not None:
            chunks = [(c.id, c.text) for c in catalog.chunks]
            vectors = ensure_chunk_vectors(chunks, self.multilingual, self.understanding.cache_dir)
            multilingual_dense = VectorIndex(vectors, catalog)
        self._loaded = _Loaded(
            catalog,
            catalog.vocabulary,
            LexicalIndex(catalog.chunks),
            DenseIndex(store, collection, catalog),
            multilingual_dense,
        )
        freeze_long_lived()  # the loaded index lives until the next switch: keep it out of every collection
        logger.info("advisor loaded index %s (%d chunks)", collection.name, len(catalog.chunks))

    def refresh(self, force: bool = False) -> bool:
        """Follow the index pointer to a newer generation; True when one was loaded."""
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS:
            return False
        self._checked_at = now
        with self._lock:
            current = self._loaded.catalog.collection_name if self._loaded else None
            active = active_collection_name(self.client)
            if active and active != current:
                self._reload()
                return True
        return False

    @property
    def state(self) -> _Loaded:
        if self._loaded is None:
            self.load()
        assert self._loaded is not None
        return self._loaded

    @property
    def catalog(self) -> Catalog:
        return self.state.catalog

    # -- answering -------------------------------------------------------------------------
    async def aanswer(
        self, question: str, profile: Profile | None = None, history: Sequence[Turn] = (), language: str | None = None
    ) -> Answer:
        """`answer` off the event loop: embedding and ranking are CPU work.

        Answers run on one worker per core rather than asyncio's default pool (cores + 4): more
        threads than cores only make the model's matrix work contend, and every extra thread that
        allocates tensors grows the heap the process keeps.
        """
        if self._workers is None:
            self._workers = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="advisor")
        call = functools.partial(contextvars.copy_context().run, self.answer, question, profile, history, language)
        return await asyncio.get_running_loop().run_in_executor(self._workers, call)

    def answer(
        self, question: str, profile: Profile | None = None, history: Sequence[Turn] = (), language: str | None = None
    ) -> Answer:
        """The answer to `question`; `language` is the person's own language, if known, for short messages."""
        try:
            self.refresh()
        except Exception:  # a broken new index must not stop answers from the current one
            logger.exception("could not switch to the new index; still answering from the current one")
        try:
            return self._answer(question, profile, history, language)
        except NotFoundError:
            # An ingest drops every generation but the live one and the one before it, so two ingests
            # between periodic checks remove the one loaded here: follow the pointer now and ask again.
            if not self.refresh(force=True):
                raise
            logger.info(
                "the index generation this advisor read was dropped; now answering from %s",
                self.catalog.collection_name,
            )
            return self._answer(question, profile, history, language)

    def _answer(
        self, question: str, profile: Profile | None, history: Sequence[Turn], known: str | None = None
    ) -> Answer:
        state = self.state
        language = self.languages.detect(question, state.vocab, fallback=known).language
        reader = self.reader_for(language)
        u = understand(question, state.catalog, state.vocab, profile, history, self.predict(question, reader))
        policy = AnswerPolicy(state.catalog, state.lexical)
        answer = policy.answer_unsearched(question, u)
        if answer is None:
            answer = policy.answer(question, u, self.retrieve(u.query, u.facets, reader), profile)
        answer.asked_in = language
        return answer

    def reader_for(self, language: str) -> Reader:
        """The model, classifiers and vectors a question in `language` is read with."""
        state = self.state
        if language != ENGLISH and self.multilingual is not None and state.multilingual_dense is not None:
            return Reader(self.multilingual, self.multilingual_classifier, state.multilingual_dense)
        return Reader(self.embeddings, self.classifier, state.dense)

    def read(self, text: str, profile: Profile | None = None) -> Understanding:
        """What a message says, without searching: for reading a questionnaire answer as a person meant it."""
        state = self.state
        return understand(text, state.catalog, state.vocab, profile, (), self.reading_of(text))

    def reading_of(self, text: str) -> Prediction | None:
        """The classifiers' reading of `text`, by the model for the language it is written in."""
        return self.predict(text, self.reader_for(self.languages.detect(text, self.state.vocab).language))

    def predict(self, text: str, reader: Reader | None = None) -> Prediction | None:
        """The classifiers' reading of `text`, over the embedding retrieval then finds in its cache."""
        reader = reader or self.reader_for(ENGLISH)
        if reader.classifier is None:
            return None
        return reader.classifier.predict(text, reader.embeddings.embed_query(" ".join(text.split())))

    def retrieve(self, query: str, facets: Facets, reader: Reader | None = None) -> Retrieved:
        reader = reader or self.reader_for(ENGLISH)
        vector = reader.embeddings.embed_query(query)
        dense = reader.dense.search(vector, DENSE_K)
        lexical = self.state.lexical.search(query, LEXICAL_K)
        filtered = self.filtered_searches(vector, facets, reader.dense)
        return gather(dense, reciprocal_rank_fusion(dense, lexical, *filtered))

    def filtered_searches(
        self, vector: Sequence[float], facets: Facets, dense: DenseIndex | VectorIndex | None = None
    ) -> list[list[Scored]]:
        """Dense searches within the facets the question names, strictest first."""
        dense = dense or self.state.dense
        filtered: list[list[Scored]] = []
        for where in facet_filters(facets):
            filtered.append(dense.search(vector, FILTERED_K, where=where))
            if len(filtered[-1]) >= FILTERED_ENOUGH:
                break  # the looser filter would only repeat what the strict one found
        return filtered


__all__ = ["Advisor", "Retrieved", "Scored"]
