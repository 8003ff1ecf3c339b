"""Questions in other languages: read with the multilingual model, its classifiers and its knowledge vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.harness.models import MODEL_CACHE
from bot.advisor import Advisor, Intent
from bot.advisor.retrieval import VectorIndex
from ingest.multilingual import ChunkVectors, MultilingualEmbeddings, ensure_chunk_vectors
from tests.conftest import FIXTURE_KNOWLEDGE, ROOT
from tests.support.catalogs import catalog_of


def test_vector_search_keeps_to_the_kinds_and_filters_asked() -> None:
    catalog = catalog_of(FIXTURE_KNOWLEDGE)
    chunks = catalog.chunks
    vectors = np.eye(len(chunks), dtype=np.float32)  # chunk i is found exactly by the unit vector i
    index = VectorIndex(ChunkVectors(tuple(c.id for c in chunks), vectors), catalog)
    target = next(i for i, c in enumerate(chunks) if c.kind == "credential" and c.meta.get("level") == "beginner")
    found = index.search(vectors[target], 3)
    assert found[0].chunk.id == chunks[target].id and found[0].score == pytest.approx(1.0)
    guides = index.search(vectors[target], 50, kinds=["guide"])
    assert guides and {h.chunk.kind for h in guides} == {"guide"}
    advanced = index.search(vectors[target], 50, where={"$and": [{"kind": "credential"}, {"level": "advanced"}]})
    assert advanced and all(h.chunk.meta["level"] == "advanced" for h in advanced)
    cheap = index.search(vectors[target], 50, where={"cost_max": {"$lte": 100.0}})
    assert all(float(h.chunk.meta["cost_max"]) <= 100.0 for h in cheap)
    cloud = index.search(vectors[target], 50, where={"domain": {"$in": ["cloud"]}})
    assert cloud and all(h.chunk.meta["domain"] == "cloud" for h in cloud)


def test_knowledge_vectors_are_computed_once_and_kept(tmp_path: Path) -> None:
    model = MultilingualEmbeddings()
    chunks = [("a", "AWS Certified Cloud Practitioner: cloud basics"), ("b", "Google Data Analytics Certificate")]
    first = ensure_chunk_vectors(chunks, model, tmp_path)
    [stored] = list(tmp_path.glob("multilingual-chunks-*.npz"))
    again = ensure_chunk_vectors(chunks, model, tmp_path)
    assert first.ids == again.ids == ("a", "b") and np.allclose(first.vectors, again.vectors)
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-3)
    query = np.asarray(model.embed_query("¿qué certificación de nube para empezar?"))
    assert int(np.argmax(first.vectors @ query)) == 0  # a Spanish question finds the English cloud record
    ensure_chunk_vectors([*chunks, ("c", "CompTIA Security+")], model, tmp_path)
    assert stored.exists() and len(list(tmp_path.glob("multilingual-chunks-*.npz"))) == 2  # new chunks, new key


@pytest.mark.parametrize(
    ("question", "language", "field"),
    [
        ("Какой сертификат по кибербезопасности взять новичку?", "ru", "cybersecurity"),
        ("хочу стать аналитиком данных, с чего начать?", "ru", "data-analytics"),
        ("¿Qué certificación de ciberseguridad es buena para principiantes?", "es", "cybersecurity"),
        ("Welche Zertifizierung für Projektmanagement passt für Einsteiger?", "de", "project-management"),
        ("Я вчитель і хочу перейти в IT-підтримку", "uk", "it-support"),
    ],
)
def test_a_question_in_another_language_finds_its_field(
    understanding_advisor: Advisor, question: str, language: str, field: str
) -> None:
    answer = understanding_advisor.answer(question)
    assert answer.asked_in == language and answer.in_scope
    assert answer.recommendations and field in answer.recommendations[0].domains


def test_english_questions_keep_the_english_model(understanding_advisor: Advisor) -> None:
    assert understanding_advisor.answer("which cert for cloud?").asked_in == "en"
    reader = understanding_advisor.reader_for("en")
    assert (
        reader.embeddings is understanding_advisor.embeddings and reader.classifier is understanding_advisor.classifier
    )
    other = understanding_advisor.reader_for("fr")
    assert other.embeddings is understanding_advisor.multilingual


def test_small_talk_in_another_language_is_not_refused(understanding_advisor: Advisor) -> None:
    answer = understanding_advisor.answer("muchas gracias, me ayudaste mucho")
    assert answer.intent is Intent.SMALLTALK and answer.asked_in == "es"


def test_the_bot_reads_other_languages_by_default(real_index: Path) -> None:
    """`python -m bot ask` as a user runs it: the multilingual model on, its work made by the ingest."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "CHROMA_PATH": str(real_index),
        "MODEL_CACHE_DIR": str(MODEL_CACHE),
        "MULTILINGUAL_MODEL": "multilingual-e5-small",
        "DATA_DIR": str(real_index.parent / "ask-data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Quelle certification pour débuter en cybersécurité ?", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    reply = json.loads(done.stdout)
    assert reply["question_language"] == "fr" and reply["language"] == "en"
    assert reply["recommendations"] and "cybersecurity" in reply["recommendations"][0]["domains"]


def test_a_short_message_takes_the_language_the_client_reports(understanding_advisor: Advisor) -> None:
    assert understanding_advisor.answer("AZ-900?", language="ru").asked_in == "ru"
    assert understanding_advisor.answer("AZ-900?").asked_in == "en"
    # a clear question is in its own language whatever the client reports
    assert (
        understanding_advisor.answer("Welche Cloud-Zertifizierung passt für Anfänger?", language="fr").asked_in == "de"
    )


def test_an_unknown_multilingual_model_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ingest.__main__ import main

    monkeypatch.setenv("MULTILINGUAL_MODEL", "labse")
    chroma = tmp_path / "chroma"
    assert main(["--knowledge", str(FIXTURE_KNOWLEDGE), "--chroma-path", str(chroma), "--quiet"]) == 2
    assert "MULTILINGUAL_MODEL must be 'multilingual-e5-small' or 'none', not 'labse'" in capsys.readouterr().err
    assert not chroma.exists()
