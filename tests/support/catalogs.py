"""Catalogs read straight from a knowledge folder, for tests that need no index."""

from __future__ import annotations

import functools
from pathlib import Path

from bot.advisor.catalog import Catalog
from ingest.chunking import build_chunks
from ingest.loader import load_knowledge
from ingest.vocabulary import VOCABULARY_FILE, WordLists, load_vocabulary

SHIPPED_VOCABULARY = Path(__file__).resolve().parents[2] / "knowledge" / VOCABULARY_FILE


@functools.cache
def words_in(path: Path = SHIPPED_VOCABULARY) -> WordLists:
    """The word lists of a vocabulary file, read once per path: the shipped file unless told otherwise."""
    return load_vocabulary(path)


def catalog_of(root: Path, words: WordLists | None = None) -> Catalog:
    """The catalog of a knowledge folder, with the shipped word lists unless given others."""
    return Catalog.from_chunks(root.name, build_chunks(load_knowledge(root)), words or words_in())
