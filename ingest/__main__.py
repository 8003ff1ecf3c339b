"""`python -m ingest`: validate the knowledge base and bring the Chroma index up to date."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from ingest.chunking import build_chunks
from ingest.embeddings import DEFAULT_MODEL, EmbeddingModelError, SentenceTransformerEmbeddings
from ingest.index import IndexBuildError, IndexUnavailable, build_index, make_client
from ingest.loader import KnowledgeError, load_knowledge
from ingest.locking import IngestLock, LockBusy

logger = logging.getLogger("ingest")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    data_dir = Path(os.environ.get("DATA_DIR", "data"))
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument(
        "--knowledge",
        type=Path,
        default=Path(os.environ.get("KNOWLEDGE_DIR", "knowledge")),
        help="knowledge directory (default: knowledge)",
    )
    parser.add_argument(
        "--chroma-path",
        type=Path,
        default=Path(os.environ.get("CHROMA_PATH") or data_dir / "chroma"),
        help="Chroma directory (default: $CHROMA_PATH or $DATA_DIR/chroma)",
    )
    parser.add_argument(
        "--chroma-url", default=os.environ.get("CHROMA_URL") or None, help="Chroma server URL; overrides --chroma-path"
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("EMBEDDING_MODEL") or DEFAULT_MODEL,
        help="sentence-transformers model (default: bundled all-MiniLM-L6-v2)",
    )
    parser.add_argument("--check", action="store_true", help="validate the knowledge base and exit without writing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    started = time.perf_counter()
    try:
        kb = load_knowledge(args.knowledge)
    except KnowledgeError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(error.problems)} problem(s) found; nothing was written.", file=sys.stderr)
        return 1
    chunks = build_chunks(kb)
    if args.check:
        print(
            f"ok: {len(kb.credentials)} credentials, {len(kb.occupations)} occupations, "
            f"{len(kb.guides)} guides, {len(chunks)} chunks ({time.perf_counter() - started:.1f} s); nothing written"
        )
        return 0
    embeddings = SentenceTransformerEmbeddings(args.model)
    lock_dir = args.chroma_path if not args.chroma_url else Path(os.environ.get("DATA_DIR", "data"))
    try:
        with IngestLock(lock_dir / ".ingest.lock"):
            client = make_client(None if args.chroma_url else args.chroma_path, args.chroma_url)
            report = build_index(
                client, chunks, embeddings, records=kb.record_count, progress=_progress_bar(len(chunks), args.quiet)
            )
    except LockBusy:
        print("error: another ingest is running on this index; wait for it to finish", file=sys.stderr)
        return 3
    except (EmbeddingModelError, IndexBuildError, IndexUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"ingest: {report.summary()}")
    return 0


def _progress_bar(total: int, quiet: bool):  # type: ignore[no-untyped-def]
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="chunk", desc="indexing", leave=False)
    return bar.update


if __name__ == "__main__":
    raise SystemExit(main())
