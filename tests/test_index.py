"""Integration: the real model, real Chroma directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.advisor.catalog import Catalog
from ingest.embeddings import SentenceTransformerEmbeddings, declared_dimension
from ingest.index import (
    IndexUnavailable,
    active_collection_name,
    existing_doc_keys,
    make_client,
    open_active_collection,
    read_all,
)
from tests.conftest import ingest_into
from tests.support.catalogs import words_in


def test_ingest_is_incremental(
    fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    first = ingest_into(fixture_knowledge, chroma, embeddings)
    assert (first.added, first.updated, first.removed) == (15, 0, 0)
    assert first.chunks == 21

    again = ingest_into(fixture_knowledge, chroma, embeddings)
    assert not again.wrote_anything
    assert again.collection == first.collection

    creds = fixture_knowledge / "credentials" / "sample.yaml"
    creds.write_text(
        creds.read_text().replace("An associate exam on designing", "An associate-level exam on designing")
    )
    edited = ingest_into(fixture_knowledge, chroma, embeddings)
    assert (edited.added, edited.updated, edited.removed, edited.unchanged) == (0, 1, 0, 20)

    (fixture_knowledge / "guides" / "what-are-micro-credentials.md").unlink()
    removed = ingest_into(fixture_knowledge, chroma, embeddings)
    assert (removed.added, removed.updated, removed.removed) == (0, 0, 1)

    collection = open_active_collection(make_client(chroma), embeddings)
    assert collection.count() == 19
    ids = collection.get()["ids"]
    assert not any(i.startswith("guide:what-are-micro-credentials") for i in ids)
    text = collection.get(where={"record_id": "aws-certified-solutions-architect-associate"})["documents"]
    assert text and "associate-level exam" in text[0]


def test_index_built_with_another_model_is_refused(
    fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    ingest_into(fixture_knowledge, chroma, embeddings)
    client = make_client(chroma)
    collection = client.get_collection(active_collection_name(client) or "")
    collection.modify(metadata={**(collection.metadata or {}), "embedding_model": "some/other-model"})
    with pytest.raises(IndexUnavailable, match="re-run `python -m ingest`"):
        open_active_collection(make_client(chroma), embeddings)


def test_missing_index_says_to_ingest(tmp_path: Path, embeddings: SentenceTransformerEmbeddings) -> None:
    with pytest.raises(IndexUnavailable, match="python -m ingest"):
        open_active_collection(make_client(tmp_path / "empty"), embeddings)


def test_bundled_model_is_verified_and_embeds(embeddings: SentenceTransformerEmbeddings) -> None:
    assert embeddings.dimension == 384
    cloud, security, cloud2 = embeddings.embed_documents(
        ["cloud computing certification", "network security exam", "AWS cloud cert"]
    )
    similarity = sum(a * b for a, b in zip(cloud, cloud2, strict=True))
    assert similarity > sum(a * b for a, b in zip(cloud, security, strict=True))


def test_collections_beyond_sqlites_variable_limit_are_read_whole(tmp_path: Path) -> None:
    """An unpaged `get()` of more than 32,766 rows fails inside Chroma with "too many SQL variables"."""
    client = make_client(tmp_path / "chroma")
    collection = client.create_collection("many-chunks", configuration={"hnsw": {"space": "cosine"}})
    total = 33_000
    ids = [f"guide:g{n}#{n}" for n in range(total)]
    for start in range(0, total, client.get_max_batch_size()):
        part = ids[start : start + client.get_max_batch_size()]
        collection.add(
            ids=part,
            documents=[f"text of {cid}" for cid in part],
            metadatas=[{"kind": "guide", "record_id": cid.split("#")[0], "doc_key": f"key-{cid}"} for cid in part],
            embeddings=[[1.0, float(len(cid) % 5), 0.5] for cid in part],  # type: ignore[misc]
        )

    stored = list(read_all(collection))
    assert len(stored) == total and {s.id for s in stored} == set(ids)
    assert all(s.text == f"text of {s.id}" for s in stored)
    assert existing_doc_keys(collection) == {cid: f"key-{cid}" for cid in ids}
    catalog = Catalog.from_collection(collection, words_in())
    assert len(catalog.chunks) == total
    assert catalog.chunk_by_id["guide:g32999#32999"].record_id == "guide:g32999"


def test_an_ingest_with_nothing_to_embed_never_loads_the_model(
    fixture_knowledge: Path, tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    ingest_into(fixture_knowledge, chroma, embeddings)
    fresh = SentenceTransformerEmbeddings(embeddings.model_name)
    again = ingest_into(fixture_knowledge, chroma, fresh)
    assert not again.wrote_anything
    assert not fresh.is_loaded  # the index was checked against the width the model's files declare
    assert fresh.dimension == embeddings.dimension == 384

    (fixture_knowledge / "guides" / "what-are-micro-credentials.md").unlink()
    assert ingest_into(fixture_knowledge, chroma, fresh).removed == 1  # nothing new to embed either
    assert not fresh.is_loaded


def test_declared_dimension_follows_the_module_configs(tmp_path: Path) -> None:
    def model_dir(name: str, modules: list[tuple[str, str, dict[str, object] | None]]) -> str:
        root = tmp_path / name
        root.mkdir()
        listed = []
        for index, (kind, path, config) in enumerate(modules):
            listed.append(
                {"idx": index, "name": str(index), "path": path, "type": f"sentence_transformers.models.{kind}"}
            )
            if config is not None:
                (root / path).mkdir(exist_ok=True)
                (root / path / "config.json").write_text(json.dumps(config))
        (root / "modules.json").write_text(json.dumps(listed))
        return str(root)

    mean = {"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    assert declared_dimension(model_dir("plain", [("Transformer", "", None), ("Pooling", "1_Pooling", mean)])) == 768
    dense = [("Transformer", "", None), ("Pooling", "1_Pooling", mean), ("Dense", "2_Dense", {"out_features": 256})]
    assert declared_dimension(model_dir("dense", [*dense, ("Normalize", "3_Normalize", None)])) == 256
    two_modes = {**mean, "pooling_mode_cls_token": True}
    assert (
        declared_dimension(model_dir("concat", [("Transformer", "", None), ("Pooling", "1_Pooling", two_modes)]))
        is None
    )
    assert declared_dimension(model_dir("odd", [("Transformer", "", None), ("SomethingNew", "x", {})])) is None
    assert declared_dimension("sentence-transformers/a-hub-name") is None


def test_repeated_queries_are_embedded_once(embeddings: SentenceTransformerEmbeddings) -> None:
    small = SentenceTransformerEmbeddings(embeddings.model_name, query_cache_size=2, cache_dir=embeddings.cache_dir)
    first = small.embed_query("which cert for cloud?")
    assert small.query_cache.misses == 1 and small.query_cache.hits == 0
    assert small.embed_query("which cert for cloud?") == first == small.embed_documents(["which cert for cloud?"])[0]
    assert small.query_cache.hits == 1

    small.embed_query("data analyst path")
    small.embed_query("network security exam")  # the least recently used entry, the cloud question, leaves
    small.embed_query("which cert for cloud?")
    assert (small.query_cache.hits, small.query_cache.misses) == (1, 4)
