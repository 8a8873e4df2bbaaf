"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) through onnxruntime + tokenizers.

Deterministic bit for bit (`embed`, the judges' path): onnxruntime runs on the CPU with one intra-op thread and sequential
execution, and every text is encoded on its own (batch of one, no padding), so a text's vector never
depends on which other texts it was embedded with. Vectors are mean-pooled over the attention mask,
L2-normalised, float32. Repeated texts are served from an LRU cache (the proxy judge embeds the same
gold questions on every evaluation).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from loop.models import ModelFileError, model_dir as registry_model_dir, verify, REGISTRY

MAX_TOKENS = 256
DIMENSION = 384
CACHE_SIZE = 8192
BULK_THREADS = 4  # the guard's bulk scan may use up to this many cores; the judges' path stays on one


class Embedder:
    """Loads `models/minilm/{model.onnx,tokenizer.json}` (or `model_dir`). Thread-safe."""

    model_name = "minilm-l6-int8"

    def __init__(self, model_dir: Path | str | None = None, *, cache_size: int = CACHE_SIZE):
        from tokenizers import Tokenizer

        if model_dir is None:
            verify(REGISTRY["minilm"])  # sha256-checked before use
            model_dir = registry_model_dir("minilm")
        self.model_dir = Path(model_dir)
        onnx_path, tokenizer_path = self.model_dir / "model.onnx", self.model_dir / "tokenizer.json"
        for path in (onnx_path, tokenizer_path):
            if not path.exists():
                raise ModelFileError(f"{path} is missing: run `autoresearch models fetch --model minilm`")
        self._onnx_path = onnx_path
        self._session = _session(onnx_path, threads=1)
        self._bulk_session = None  # made on the first bulk scan: every core, for `embed_uncached` only
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()  # pad to the longest in a batch (a batch here is one text)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.encoded = 0  # texts actually run through the model (cache misses)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32, rows L2-normalised."""
        rows = [self._embed_one(text) for text in texts]
        if not rows:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack(rows)

    def embed_uncached(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Like `embed`, run in padded batches (several times faster on many texts) and kept out of the
        shared cache: a batched vector may differ from the one-text vector in the last float digits, and the
        judges must see exactly the vectors they always saw. Texts are batched by length (less padding) and
        returned in the order given. For bulk scans (the guard's semantic check), on a
        session of its own with one intra-op thread per core (up to BULK_THREADS)."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # like lengths together: little padding
        ranked = [texts[i] for i in order]
        vectors = np.concatenate([self._encode_batch(ranked[i:i + batch_size]) for i in range(0, len(ranked), batch_size)])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)  # padded to the longest of the batch
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        if self._bulk_session is None:
            self._bulk_session = _session(self._onnx_path, threads=min(os.cpu_count() or 1, BULK_THREADS))
        hidden = self._bulk_session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask.astype(np.float64)[:, :, None]
        pooled = (hidden.astype(np.float64) * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def _embed_one(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._encode(text)
        with self._lock:
            self._cache[text] = vector
            self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            self.encoded += 1
        return vector

    def _encode(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        mask = np.asarray([encoding.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0][0]
        weights = mask[0].astype(np.float64)[:, None]
        pooled = (hidden.astype(np.float64) * weights).sum(axis=0) / max(weights.sum(), 1.0)
        norm = np.linalg.norm(pooled)
        vector = (pooled / norm if norm > 0 else pooled).astype(np.float32)
        vector.setflags(write=False)
        return vector


def _session(onnx_path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b` (rows need not be normalised)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.size == 0 or b.size == 0:
        return np.zeros((a.shape[0] if a.ndim else 0, b.shape[0] if b.ndim else 0), dtype=np.float32)
    a_norm = np.linalg.norm(a, axis=1, keepdims=True)
    b_norm = np.linalg.norm(b, axis=1, keepdims=True)
    a = a / np.where(a_norm > 0, a_norm, 1)
    b = b / np.where(b_norm > 0, b_norm, 1)
    return a @ b.T


_singleton: Embedder | None = None
_singleton_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder over `models/minilm` (loaded once)."""
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            _singleton = Embedder()
        return _singleton
