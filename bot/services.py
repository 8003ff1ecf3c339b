"""Building the services that every front end shares, from Settings."""

from __future__ import annotations

from bot.advisor import Advisor
from bot.config import Settings
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import make_client


def build_advisor(settings: Settings) -> Advisor:
    """An Advisor over the configured index; nothing is loaded until `load()`."""
    client = make_client(None if settings.chroma_url else settings.index_path, settings.chroma_url)
    return Advisor(client, SentenceTransformerEmbeddings(settings.embedding_model))
