"""Building the services that every front end shares, from Settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.advisor import Advisor
from bot.advisor.service import ClassifierSource
from bot.config import Settings
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client
from ingest.multilingual import NO_MODEL, MultilingualEmbeddings
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
        vocabulary=word_lists_path(settings.knowledge_dir),
        multilingual=MultilingualEmbeddings() if settings.multilingual_model != NO_MODEL else None,
    )


# The word lists that ship with the project, for a bot run where the knowledge folder is not at hand
# (another working directory, an image holding only the index): the lists are part of the program.
SHIPPED_VOCABULARY = Path(__file__).resolve().parent.parent / "knowledge" / VOCABULARY_FILE


def word_lists_path(knowledge_dir: Path) -> Path:
    """The knowledge folder's word lists, or the shipped ones when that folder has none."""
    own = knowledge_dir / VOCABULARY_FILE
    return own if own.is_file() or not SHIPPED_VOCABULARY.is_file() else SHIPPED_VOCABULARY


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
