"""The question encoder on ONNX Runtime: the same model, exported once, without PyTorch at run time.

Why: measured on this project's 2-core machine, sentence-transformers on PyTorch spends about
11 ms encoding one short question, while the same network exported to ONNX and run by ONNX Runtime
takes about 3.5 ms and returns the same vector (cosine 1.0000 on the gold questions), so an index
built with either backend serves either. A worker that never imports PyTorch also starts faster
and is smaller.

The export is made locally from the configured model (nothing is downloaded) and checked against
the PyTorch model on probe sentences before it is used. Only the architecture of the default
model is exported: a Transformer with mean pooling, optionally normalised; anything else keeps the
PyTorch backend (QA_MODEL_BACKEND=torch) with one clear line.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any
from pathlib import Path

import numpy as np

from qa.encoders.base import Progress, encode_in_batches, model_dimension, quiet_model_loading
from qa.errors import ModelError

MODEL_FILE = "model.onnx"
META_FILE = "export.json"
EXPORT_VERSION = 1
PROBES = (
    "What is autologous haematopoietic stem cell transplantation for multiple sclerosis?",
    "Are mesenchymal stromal cell injections approved for lupus?",
    "short",
    "Kann ich eine Stammzelltherapie in einer Klinik im Ausland bekommen?",
)
MIN_PROBE_COSINE = 0.9999


def export_directory(cache_dir: Path, model_name: str) -> Path:
    """Where the export of `model_name` lives: one folder per model setting."""
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_name).strip("_.")
    return cache_dir / (slug or "model")


def export_onnx(model_name: str, model_reference: str, target: Path) -> Path:
    """Export the model to `target` (model.onnx, tokenizer.json, export.json), atomically,
    after checking that the exported graph reproduces the PyTorch vectors."""
    import torch
    from sentence_transformers import SentenceTransformer

    quiet_model_loading()
    model = SentenceTransformer(model_reference, device="cpu")
    kinds = [type(module).__name__ for module in model]
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]) or \
            model[1].pooling_mode != "mean":
        raise ModelError(f"the ONNX backend supports Transformer + mean pooling models, not "
                         f"{' + '.join(kinds)}; set QA_MODEL_BACKEND=torch")

    class LastHiddenState(torch.nn.Module):
        def __init__(self, network: torch.nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.network(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        model.tokenizer.save_pretrained(str(staging))
        if not (staging / "tokenizer.json").exists():
            raise ModelError("the model has no fast tokenizer (tokenizer.json); "
                             "set QA_MODEL_BACKEND=torch")
        sample = model.tokenizer(list(PROBES[:1]), return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes, expected for this export
            auto_model: Any = model[0].auto_model
            torch.onnx.export(LastHiddenState(auto_model.eval()),
                              tuple(sample[n] for n in names), str(staging / MODEL_FILE),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        meta = {"export_version": EXPORT_VERSION, "model": model_name,
                "dimension": int(model_dimension(model)),
                "max_tokens": int(model.max_seq_length or 512), "torch": torch.__version__}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        reference = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
        exported = OnnxEmbedder(model_name, staging, threads=1).encode(list(PROBES))
        agreement = float(np.min(np.sum(reference * exported, axis=1)))
        if agreement < MIN_PROBE_COSINE:
            raise ModelError(f"the ONNX export disagrees with the model (cosine {agreement:.5f}); "
                             "set QA_MODEL_BACKEND=torch")
        staging.chmod(0o755)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / MODEL_FILE).exists():  # else another process exported it first
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


class OnnxEmbedder:
    """Tokenise with the model's own tokenizer, run the exported network, mean-pool, normalise."""

    def __init__(self, name: str, directory: Path, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            options.inter_op_num_threads = 1
            # ONNX Runtime's pool threads otherwise keep spinning on the other core after a run,
            # which is when the engine wants that core for triage and BM25 (qa.retrieval.overlap).
            options.add_session_config_entry("session.force_spinning_stop", "1")
            self._session = onnxruntime.InferenceSession(
                str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"])
            self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:  # a damaged export is one line, and a re-export fixes it
            raise ModelError(f"ONNX export in {directory} is unreadable "
                             f"({exc.__class__.__name__}); delete it to export again") from exc
        if meta.get("model") != name or meta.get("export_version") != EXPORT_VERSION:
            raise ModelError(f"ONNX export in {directory} is for another model or version; "
                             "delete it to export again")
        self._tokenizer.enable_truncation(int(meta["max_tokens"]))
        self._tokenizer.enable_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.name = name
        self._dimension = int(meta["dimension"])

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Progress | None = None) -> np.ndarray:
        return encode_in_batches(self._encode_batch, texts, batch_size, self._dimension, progress)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask,
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        weights = mask[..., np.newaxis].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
