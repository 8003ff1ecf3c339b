"""The embedding model run by ONNX Runtime instead of PyTorch (EMBEDDING_BACKEND=onnx).

The ONNX file is exported once from the same local sentence-transformers model, checked against
it, and kept under the model cache directory, named by the hash of the weights it came from. Running
it needs only onnxruntime, tokenizers and numpy: the bot then never imports torch, which is most of
its memory and start-up time.

Only models made of a BERT-style transformer, mean pooling and an optional normalisation (the
shape of all-MiniLM-L6-v2 and most sentence-transformers models of its kind) can be exported;
others are refused with the reason, and stay usable with the torch backend.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

EXPORT_FORMAT = 1
# Sentences the export is checked on: short and long, several scripts, with and without symbols.
_CHECK_SENTENCES = (
    "which cert for cloud?",
    "I'm in marketing, how do I become a data analyst?",
    "AWS Certified Solutions Architect - Associate (SAA-C03)",
    "Security+ vs CySA+: cost, hours and level",
    "Cómo empezar en ciberseguridad sin experiencia",
    "hi",
    " ".join(["a long question about project management certifications and agile ways of working"] * 12),
)
_MAX_DIFFERENCE = 1e-4


class OnnxExportError(RuntimeError):
    """The model cannot be exported to ONNX, or the export does not match the original."""


@dataclass(frozen=True)
class _Shape:
    max_seq_length: int
    normalize: bool


def _module_shape(location: Path) -> _Shape:
    """What the export must reproduce, or OnnxExportError saying why this model cannot be exported."""
    try:
        modules = json.loads((location / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        pooling_dir = location / next(str(m.get("path", "")) for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        bert_config = json.loads((location / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration) as error:
        raise OnnxExportError(f"{location} is not a local sentence-transformers model ({error})") from None
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise OnnxExportError(f"modules {kinds}: only transformer + pooling (+ normalize) models can be exported")
    modes = [key for key, on in pooling.items() if key.startswith("pooling_mode_") and on is True]
    if modes != ["pooling_mode_mean_tokens"]:
        raise OnnxExportError(f"pooling {modes}: only mean pooling can be exported")
    if not (location / "tokenizer.json").is_file():
        raise OnnxExportError(f"{location} has no tokenizer.json")
    return _Shape(int(bert_config.get("max_seq_length", 256)), "Normalize" in kinds)


def _weights_digest(location: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "pytorch_model.bin"):
        weights = location / name
        if weights.is_file():
            with weights.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    raise OnnxExportError(f"no weights file in {location}")


class OnnxEncoder:
    """Tokenise, run the transformer in ONNX Runtime, mean-pool over the real tokens, normalise."""

    def __init__(self, export_dir: Path, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        manifest = json.loads((export_dir / "manifest.json").read_text(encoding="utf-8"))
        self.normalize = bool(manifest["normalize"])
        self.tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(manifest["max_seq_length"]))
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(export_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()  # one run at a time: the session already uses every core

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        parts = [self._encode_batch(texts[start : start + batch_size]) for start in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feed: dict[str, Any] = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        with self._lock:
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if self.normalize:
            vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)


def export_dir_for(location: Path, cache_dir: Path) -> Path:
    return cache_dir / f"onnx-{_weights_digest(location)[:16]}-v{EXPORT_FORMAT}"


def ensure_export(location: Path, cache_dir: Path) -> Path:
    """The checked ONNX export of the model at `location`, exporting it first if there is none.

    The export runs in a child process: it needs torch, and a bot that imported torch once would keep
    its memory for as long as it runs, which is what the ONNX backend is there to avoid.
    """
    _module_shape(location)  # refuse a model that cannot be exported before starting anything
    target = export_dir_for(location, cache_dir)
    if (target / "manifest.json").is_file():
        return target
    logger.warning("exporting the embedding model to ONNX in %s (once; it takes a few seconds)", target)
    command = [sys.executable, "-m", "ingest.onnx_backend", str(location), str(cache_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not (target / "manifest.json").is_file():
        problem = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise OnnxExportError(problem.removeprefix("error: "))
    return target


def export(location: Path, cache_dir: Path) -> Path:
    """Export and check the model in this process (it imports torch); see ensure_export."""
    shape = _module_shape(location)
    target = export_dir_for(location, cache_dir)
    if (target / "manifest.json").is_file():
        return target
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _export(location, staging)
        shutil.copyfile(location / "tokenizer.json", staging / "tokenizer.json")
        manifest = {
            "format": EXPORT_FORMAT,
            "source": str(location),
            "source_weights_sha256": _weights_digest(location),
            "max_seq_length": shape.max_seq_length,
            "normalize": shape.normalize,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _check_against_original(location, staging)
        try:
            staging.rename(target)  # a complete export appears at once, or not at all
        except OSError:
            if not (target / "manifest.json").is_file():  # another process finished first: use theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _export(location: Path, staging: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as error:  # pragma: no cover - both are dependencies of sentence-transformers
        raise OnnxExportError(f"exporting needs torch and transformers: {error}") from error

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(location)).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    try:
        # the exporter warns about every traced shape check; the comparison below is what counts
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(),
                example,
                str(staging / "model.onnx"),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,  # the TorchScript exporter needs no extra packages and handles BERT-style models
            )
    except Exception as error:
        raise OnnxExportError(f"the ONNX export failed: {error}") from error


def _check_against_original(location: Path, staging: Path) -> None:
    from sentence_transformers import SentenceTransformer

    original = SentenceTransformer(str(location), device="cpu").encode(
        list(_CHECK_SENTENCES), normalize_embeddings=False, convert_to_numpy=True
    )
    exported = OnnxEncoder(staging).encode(list(_CHECK_SENTENCES))
    difference = float(np.abs(original - exported).max())
    if difference > _MAX_DIFFERENCE:
        raise OnnxExportError(f"the ONNX export differs from the model by up to {difference:.2e}")
    logger.info("ONNX export checked: largest difference from the model %.1e", difference)


def main(argv: list[str] | None = None) -> int:
    """`python -m ingest.onnx_backend MODEL_DIR CACHE_DIR`: the export, as ensure_export runs it."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m ingest.onnx_backend MODEL_DIR CACHE_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        print(export(Path(args[0]), Path(args[1])))
    except OnnxExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
