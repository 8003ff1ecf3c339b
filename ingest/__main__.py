"""`python -m ingest`: validate the knowledge base and bring the Chroma index up to date."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chromadb.api import ClientAPI

from ingest.chunking import Chunk, build_chunks
from ingest.classifier import ensure_classifier
from ingest.corpus import Corpus, CorpusError
from ingest.embeddings import BACKENDS, DEFAULT_MODEL, EmbeddingModelError, SentenceTransformerEmbeddings
from ingest.index import IndexBuildError, IndexUnavailable, IngestReport, build_index, make_client
from ingest.loader import KnowledgeError, load_knowledge
from ingest.locking import IngestLock, LockBusy, LockError, LockLost, ServerIngestLock
from ingest.multilingual import NO_MODEL, MultilingualEmbeddings, ensure_chunk_vectors, multilingual_model_setting
from ingest.vocabulary import VocabularyError, load_vocabulary_if_present

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
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("EMBEDDING_BACKEND") or "auto",
        help="how the embedding model runs (default: $EMBEDDING_BACKEND or auto: onnx when possible)",
    )
    parser.add_argument("--check", action="store_true", help="validate the knowledge base and exit without writing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def _refused(problems: Sequence[object], where: str = "") -> int:
    """Report every problem of a file that cannot be indexed; the exit status of a refused run."""
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"{len(problems)} problem(s) found{where}; nothing was written.", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    started = time.perf_counter()
    try:
        kb = load_knowledge(args.knowledge)
    except KnowledgeError as error:
        return _refused(error.problems)
    try:
        corpus = Corpus.load_if_present(args.knowledge)
    except CorpusError as error:
        return _refused(error.problems, " in the labelled corpus")
    try:
        words = load_vocabulary_if_present(args.knowledge, (c.provider for c in kb.credentials.values()))
    except VocabularyError as error:
        return _refused(error.problems, " in the vocabulary")
    chunks = build_chunks(kb)
    if args.check:
        print(
            f"ok: {len(kb.credentials)} credentials, {len(kb.occupations)} occupations, "
            f"{len(kb.guides)} guides, {len(chunks)} chunks, {_messages(corpus)} labelled messages, "
            f"{'a valid vocabulary' if words else 'no vocabulary'} ({time.perf_counter() - started:.1f} s); nothing written"
        )
        return 0
    try:
        multilingual = None if multilingual_model_setting() == NO_MODEL else MultilingualEmbeddings()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if multilingual is not None:
        # before the new index is switched to: a running bot that follows the switch finds its vectors made
        ensure_chunk_vectors([(c.id, c.text) for c in chunks], multilingual, _model_cache_dir())
    embeddings = SentenceTransformerEmbeddings(args.model, backend=args.backend, cache_dir=_model_cache_dir())
    # The file lock comes first even with a server: a second run on the same machine fails at once,
    # without asking the server.
    lock_dir = args.chroma_path if not args.chroma_url else Path(os.environ.get("DATA_DIR", "data"))
    try:
        with IngestLock(lock_dir / ".ingest.lock"):
            client = make_client(None if args.chroma_url else args.chroma_path, args.chroma_url)
            progress = _progress_bar(len(chunks), args.quiet)
            if args.chroma_url:
                with ServerIngestLock(client) as server_lock:
                    report = _build_under(server_lock, client, chunks, embeddings, kb.record_count, progress)
            else:
                report = build_index(client, chunks, embeddings, records=kb.record_count, progress=progress)
    except LockBusy as busy:
        print("error: another ingest is running on this index; wait for it to finish", file=sys.stderr)
        if busy.holder:
            print(f"the lock on the Chroma server is held by {busy.holder}", file=sys.stderr)
        return 3
    except (EmbeddingModelError, IndexBuildError, IndexUnavailable, LockError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"ingest: {report.summary()}")
    # The understanding classifiers are trained here, once per corpus and model, so that the bot only loads them.
    ensure_classifier(args.knowledge, embeddings, _model_cache_dir())
    if multilingual is not None:
        ensure_classifier(args.knowledge, multilingual, _model_cache_dir())
    return 0


def _build_under(
    lock: ServerIngestLock,
    client: ClientAPI,
    chunks: list[Chunk],
    embeddings: SentenceTransformerEmbeddings,
    records: int,
    progress: Callable[[int], None] | None,
) -> IngestReport:
    """Build, switching the index only while the lock on the server is still ours."""
    try:
        return build_index(client, chunks, embeddings, records=records, progress=progress, before_switch=lock.check)
    except LockLost as lost:
        raise LockLost(f"{lost}; the index was not switched") from None
    except LockError:
        raise
    except Exception as error:
        # An ingest that took the lock over drops this one's unfinished generation, so the build then
        # fails on a missing collection: report the cause rather than that symptom.
        reason = lock.lost_reason()
        if reason:
            raise LockLost(f"{reason}; the index was not switched") from error
        raise


def _messages(corpus: Corpus | None) -> int:
    return 0 if corpus is None else len(corpus.train) + len(corpus.validation)


def _model_cache_dir() -> Path:
    """MODEL_CACHE_DIR, or DATA_DIR/models: where the bot finds the same exported model."""
    configured = os.environ.get("MODEL_CACHE_DIR")
    return Path(configured) if configured else Path(os.environ.get("DATA_DIR", "data")) / "models"


def _progress_bar(total: int, quiet: bool):  # type: ignore[no-untyped-def]
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="chunk", desc="indexing", leave=False)
    return bar.update


if __name__ == "__main__":
    raise SystemExit(main())
