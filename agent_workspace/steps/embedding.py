"""The sentence embedder for steps (loop.embedder: L2-normalised MiniLM vectors).

Inside the sandbox the models dir is read-only, so the registry's sha256 stamp cannot be rewritten;
the trusted parent has verified the files already, so we fall back to loading them directly.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _embedder():
    from loop import embedder as embedder_module

    try:
        return embedder_module.get_embedder()
    except OSError:
        from loop.models import model_dir

        return embedder_module.Embedder(model_dir("minilm"))


def embed(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.asarray(_embedder().embed(list(texts)), dtype=np.float32)


def model_name() -> str:
    return getattr(_embedder(), "model_name", "embedder")
