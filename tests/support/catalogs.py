"""Catalogs read straight from a knowledge folder, for tests that need no index."""

from __future__ import annotations

from pathlib import Path

from bot.advisor.catalog import Catalog
from ingest.chunking import build_chunks
from ingest.loader import load_knowledge


def catalog_of(root: Path) -> Catalog:
    return Catalog.from_chunks(root.name, build_chunks(load_knowledge(root)))
