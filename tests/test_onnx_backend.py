"""The ONNX backend: the export of the real bundled model, checked against it, and the fallback to torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.advisor import Advisor
from ingest.embeddings import EmbeddingModelError, SentenceTransformerEmbeddings, bundled_model_path
from ingest.index import make_client
from ingest.onnx_backend import export_dir_for
from tests.conftest import ROOT

TEXTS = [
    "which cert for cloud?",
    "I'm in marketing, how do I become a data analyst?",
    "CompTIA Security+ (SY0-701): cost, hours and what it covers",
    "¿Qué certificación de nube conviene primero?",
]


@pytest.fixture(scope="module")
def torch_embeddings() -> SentenceTransformerEmbeddings:
    model = SentenceTransformerEmbeddings(backend="torch")
    model.load()
    return model


# A new process, as the bot is: it must export the model and embed without ever importing torch.
PROBE = """
import json, sys
from pathlib import Path
from ingest.embeddings import SentenceTransformerEmbeddings
model = SentenceTransformerEmbeddings(backend="onnx", cache_dir=Path(sys.argv[1]))
vectors = model.embed_documents(json.loads(sys.argv[2]))
print(json.dumps({"backend": model.running_backend, "torch": "torch" in sys.modules, "vectors": vectors}))
"""


def test_the_export_matches_the_torch_model_is_made_once_and_keeps_torch_out(
    tmp_path: Path, torch_embeddings: SentenceTransformerEmbeddings
) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), json.dumps(TEXTS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=600,
        check=True,
    )
    result = json.loads(probe.stdout)
    assert result["backend"] == "onnx" and result["torch"] is False
    export = export_dir_for(bundled_model_path(), tmp_path)
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["normalize"] is True and manifest["max_seq_length"] == 256
    assert [p.name for p in tmp_path.iterdir()] == [export.name]  # no staging directory left behind

    ours, reference = result["vectors"], torch_embeddings.embed_documents(TEXTS)
    for a, b in zip(ours, reference, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5
        assert abs(sum(x * x for x in a) - 1.0) < 1e-5  # unit length, for cosine

    written = (export / "model.onnx").stat().st_mtime_ns
    again = SentenceTransformerEmbeddings(backend="onnx", cache_dir=tmp_path)
    again.load()
    assert again.dimension == 384
    assert max(abs(x - y) for x, y in zip(again.embed_documents(TEXTS[:1])[0], ours[0], strict=True)) < 1e-6
    assert (export / "model.onnx").stat().st_mtime_ns == written


def _model_with_cls_pooling(target: Path) -> Path:
    """A copy of the bundled model that pools the [CLS] token: a real model the export cannot reproduce."""
    source = bundled_model_path()
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("model.safetensors"))
    (target / "model.safetensors").symlink_to(source / "model.safetensors")
    pooling = target / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    return target


def test_auto_runs_a_model_onnx_cannot_reproduce_with_torch(tmp_path: Path) -> None:
    model = str(_model_with_cls_pooling(tmp_path / "cls-model"))
    auto = SentenceTransformerEmbeddings(model, backend="auto", cache_dir=tmp_path / "cache")
    assert len(auto.embed_query("which cert for cloud?")) == 384
    assert auto.running_backend == "torch"

    strict = SentenceTransformerEmbeddings(model, backend="onnx", cache_dir=tmp_path / "cache")
    with pytest.raises(EmbeddingModelError, match="only mean pooling"):
        strict.load()


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(EmbeddingModelError, match="choose one of auto, onnx, torch"):
        SentenceTransformerEmbeddings(backend="tensorflow")


def test_both_backends_give_the_same_answers(
    advisor: Advisor, real_index: Path, torch_embeddings: SentenceTransformerEmbeddings
) -> None:
    assert advisor.embeddings.running_backend == "onnx"  # the product's default, as the suite runs it
    on_torch = Advisor(make_client(real_index), torch_embeddings)
    on_torch.load()
    eval_file = Path(__file__).parent / "eval" / "regression.jsonl"
    questions = [json.loads(line)["question"] for line in eval_file.read_text().splitlines() if line.strip()]
    for question in questions:
        ours, reference = advisor.answer(question), on_torch.answer(question)
        assert ours.model_dump() == reference.model_dump(), question
