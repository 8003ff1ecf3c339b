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
from bot.advisor.language import LanguageDetector
from bot.advisor.models import Answer, Facets, Profile, Turn
from bot.advisor.policy import AnswerPolicy
from bot.advisor.retrieval import (
    DenseIndex,
    LexicalIndex,
    Retrieved,
    Scored,
    facet_filters,
    gather,
    reciprocal_rank_fusion,
)
from bot.advisor.understanding import Understanding, understand
from bot.advisor.vocabulary import Vocabulary
from bot.heap import freeze_long_lived
from ingest.classifier import MessageClassifier, Prediction, ensure_classifier
from ingest.corpus import CorpusError
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import active_collection_name, open_active_collection
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
    ) -> None:
        self.client = client
        self.embeddings = embeddings
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
        self._reload()
        if self.understanding is not None and self.classifier is None:
            try:
                self.classifier = ensure_classifier(
                    self.understanding.knowledge_dir, self.embeddings, self.understanding.cache_dir
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
        self._loaded = _Loaded(
            catalog,
            catalog.vocabulary,
            LexicalIndex(catalog.chunks),
            DenseIndex(store, collection, catalog),
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
    async def aanswer(self, question: str, profile: Profile | None = None, history: Sequence[Turn] = ()) -> Answer:
        """`answer` off the event loop: embedding and ranking are CPU work.

        Answers run on one worker per core rather than asyncio's default pool (cores + 4): more
        threads than cores only make the model's matrix work contend, and every extra thread that
        allocates tensors grows the heap the process keeps.
        """
        if self._workers is None:
            self._workers = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="advisor")
        call = functools.partial(contextvars.copy_context().run, self.answer, question, profile, history)
        return await asyncio.get_running_loop().run_in_executor(self._workers, call)

    def answer(self, question: str, profile: Profile | None = None, history: Sequence[Turn] = ()) -> Answer:
        try:
            self.refresh()
        except Exception:  # a broken new index must not stop answers from the current one
            logger.exception("could not switch to the new index; still answering from the current one")
        try:
            return self._answer(question, profile, history)
        except NotFoundError:
            # An ingest drops every generation but the live one and the one before it, so two ingests
            # between periodic checks remove the one loaded here: follow the pointer now and ask again.
            if not self.refresh(force=True):
                raise
            logger.info(
                "the index generation this advisor read was dropped; now answering from %s",
                self.catalog.collection_name,
            )
            return self._answer(question, profile, history)

    def _answer(self, question: str, profile: Profile | None, history: Sequence[Turn]) -> Answer:
        answer = self._compose(question, profile, history)
        answer.asked_in = self.languages.detect(question, self.state.vocab).language
        return answer

    def _compose(self, question: str, profile: Profile | None, history: Sequence[Turn]) -> Answer:
        state = self.state
        u = understand(question, state.catalog, state.vocab, profile, history, self.predict(question))
        policy = AnswerPolicy(state.catalog, state.lexical)
        unsearched = policy.answer_unsearched(question, u)
        if unsearched is not None:
            return unsearched
        return policy.answer(question, u, self.retrieve(u.query, u.facets), profile)

    def read(self, text: str, profile: Profile | None = None) -> Understanding:
        """What a message says, without searching: for reading a questionnaire answer as a person meant it."""
        state = self.state
        return understand(text, state.catalog, state.vocab, profile, (), self.predict(text))

    def predict(self, text: str) -> Prediction | None:
        """The classifiers' reading of `text`, over the embedding retrieval then finds in its cache."""
        if self.classifier is None:
            return None
        return self.classifier.predict(text, self.embeddings.embed_query(" ".join(text.split())))

    def retrieve(self, query: str, facets: Facets) -> Retrieved:
        state = self.state
        vector = self.embeddings.embed_query(query)
        dense = state.dense.search(vector, DENSE_K)
        lexical = state.lexical.search(query, LEXICAL_K)
        filtered = self.filtered_searches(vector, facets)
        return gather(dense, reciprocal_rank_fusion(dense, lexical, *filtered))

    def filtered_searches(self, vector: Sequence[float], facets: Facets) -> list[list[Scored]]:
        """Dense searches within the facets the question names, strictest first."""
        filtered: list[list[Scored]] = []
        for where in facet_filters(facets):
            filtered.append(self.state.dense.search(vector, FILTERED_K, where=where))
            if len(filtered[-1]) >= FILTERED_ENOUGH:
                break  # the looser filter would only repeat what the strict one found
        return filtered


__all__ = ["Advisor", "Retrieved", "Scored"]
