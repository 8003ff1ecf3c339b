"""Building the services that every front end shares, from Settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.advisor import Advisor
from bot.advisor.service import ClassifierSource
from bot.config import Settings
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client
from ingest.vocabulary import VOCABULARY_FILE

if TYPE_CHECKING:
    from bot.llm.answerer import LLMAnswerer


def build_advisor(settings: Settings) -> Advisor:
    """An Advisor over the configured index; nothing is loaded until `load()`."""
    client = make_client(None if settings.chroma_url else settings.index_path, settings.chroma_url)
    embeddings = SentenceTransformerEmbeddings(
        settings.embedding_model, backend=settings.embedding_backend, cache_dir=settings.model_cache_path
    )
    return Advisor(
        client,
        embeddings,
        understanding=ClassifierSource(settings.knowledge_dir, settings.model_cache_path),
        vocabulary=settings.knowledge_dir / VOCABULARY_FILE,
    )


def build_llm(settings: Settings) -> LLMAnswerer | None:
    """The LLM composer when LLM_MODEL is set; prompts and the provider package are checked now, at start."""
    if not settings.llm_model:
        return None
    from bot.llm.answerer import LLMAnswerer
    from bot.llm.model import make_chat_model
    from bot.llm.prompts import LLMPrompts

    return LLMAnswerer(
        make_chat_model(settings), LLMPrompts.from_prompts_dir(settings.prompts_dir), settings.llm_timeout_seconds
    )
