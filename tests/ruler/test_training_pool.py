"""The training pool is disjoint from the ruler and the holdout (no near-duplicate task one-liners)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loop.embedder import cosine_matrix, get_embedder
from loop.ruler_files import load_cases

NEAR_DUPLICATE = 0.9


def test_pool_has_enough_well_formed_cases(repo_root: Path):
    pool = load_cases(repo_root / "agent_workspace" / "data" / "train.jsonl")
    assert len(pool) >= 150
    assert len({c.id for c in pool}) == len(pool)


def test_no_training_task_near_duplicates_a_ruler_or_holdout_task(repo_root: Path):
    pool = load_cases(repo_root / "agent_workspace" / "data" / "train.jsonl")
    held = load_cases(repo_root / "ruler" / "tasks.jsonl") + load_cases(repo_root / "ruler" / "holdout.jsonl")
    embedder = get_embedder()
    sims = cosine_matrix(embedder.embed([c.task for c in pool]), embedder.embed([c.task for c in held]))
    worst = np.unravel_index(np.argmax(sims), sims.shape)
    assert sims.max() < NEAR_DUPLICATE, (
        f"training task {pool[worst[0]].id} {pool[worst[0]].task!r} is a near-duplicate "
        f"(cosine {sims.max():.3f}) of {held[worst[1]].id} {held[worst[1]].task!r}")


def test_the_check_would_catch_a_reworded_ruler_task(repo_root: Path):
    held = load_cases(repo_root / "ruler" / "tasks.jsonl")
    embedder = get_embedder()
    sims = cosine_matrix(embedder.embed(["Plan a trip to Paris, France"]), embedder.embed([held[0].task]))
    assert held[0].task == "Plan a trip to Paris" and sims.max() >= NEAR_DUPLICATE
