"""Retrieval: the training-pool tasks most similar to this one, shown as few-shot examples.

The pool is `data/train.jsonl` ({"id", "task", "gold": {"title", "questions"}} per line). Its task
embeddings are cached in `.cache/pool-embeddings.npz` (git-ignored) keyed by the pool's sha256; inside
the sandbox the workspace is read-only, so the cache is then kept in memory for the worker's life.
Run `python -m steps.retrieval` in the workspace to build the file cache ahead of time.

Never served: a pool row whose task is the task being answered, after the one normaliser
(`loop.textnorm.normalise`: look-alikes, zero-width characters, case, punctuation) or as a near-duplicate
(cosine >= `SAME_TASK` with it, the guard's task threshold). When the task is a ruler or holdout task,
such a row is that task planted in the pool: it would fail the guard, so retrieval refuses to serve it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from loop.textnorm import normalise

from . import embedding
from .tracing import traced_step

WORKSPACE = Path(__file__).resolve().parent.parent
POOL = WORKSPACE / "data" / "train.jsonl"
CACHE = WORKSPACE / ".cache" / "pool-embeddings.npz"
SAME_TASK = 0.9  # = loop.daemon.guard_gold.TASK_THRESHOLD


def load_pool(path: Path = POOL) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row.get("task"), str) or not isinstance(row.get("gold"), dict):
                raise ValueError(f"{path}:{number}: expected {{id, task, gold: {{title, questions}}}}")
            rows.append(row)
    return rows


@functools.lru_cache(maxsize=4)
def pool_index(path: Path = POOL, cache: Path = CACHE) -> tuple[list[dict], np.ndarray]:
    rows = load_pool(path)
    if not rows:
        return [], np.zeros((0, 384), dtype=np.float32)
    key = hashlib.sha256(path.read_bytes() + embedding.model_name().encode()).hexdigest()
    if cache.exists():
        stored = np.load(cache, allow_pickle=False)
        if str(stored["key"]) == key and len(stored["vectors"]) == len(rows):
            return rows, stored["vectors"]
    vectors = embedding.embed([r["task"] for r in rows])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=np.array(key), vectors=vectors)
    except OSError:
        pass  # read-only workspace (sandbox): keep it in memory
    return rows, vectors


def similar_tasks(task: str, k: int, *, model=None, path: Path = POOL) -> list[dict]:
    if k <= 0:
        return []
    with traced_step("retrieve examples", model, k=k) as detail:
        rows, vectors = pool_index(path)
        if not rows:
            detail["pool"] = 0
            return []
        sims = vectors @ embedding.embed([task])[0]
        asked = normalise(task)
        order = [int(i) for i in np.argsort(-sims, kind="stable")]
        refused = [i for i in order if sims[i] >= SAME_TASK or normalise(rows[i]["task"]) == asked]
        order = [i for i in order if i not in set(refused)]
        chosen = [rows[i] for i in order[:k]]
        if refused:
            detail["refused"] = [rows[i].get("id") for i in refused]
        detail.update(pool=len(rows), chosen=[r.get("id") for r in chosen],
                      similarity=[round(float(sims[i]), 3) for i in order[:k]])
        return chosen


def format_examples(examples: list[dict]) -> str:
    """Few-shot block for the draft prompt ("" when there are none)."""
    if not examples:
        return ""
    blocks = []
    for row in examples:
        gold = row["gold"]
        questions = "\n".join(f"{i}. {q}" for i, q in enumerate(gold.get("questions", []), 1))
        blocks.append(f"Task: {row['task']}\nTitle: {gold.get('title', '')}\n{questions}")
    return "Examples of good answers to similar tasks:\n\n" + "\n\n".join(blocks) + "\n\n"


if __name__ == "__main__":
    rows, vectors = pool_index()
    print(f"cached {len(rows)} pool embeddings in {CACHE}")
