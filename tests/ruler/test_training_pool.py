"""The training pool is disjoint from the ruler and the holdout: no near-duplicate task one-liners, no
gold question repeated or nearly repeated, no shared normalised word 8-gram, and the guard passes on it
(so every honest edit of the pool is not flagged invalid for text it already had)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loop.daemon.guard import GoldIndex, scan_workspace
from loop.embedder import cosine_matrix, get_embedder
from loop.ruler_files import load_cases
from loop.textnorm import word_grams, words

NEAR_DUPLICATE = 0.9
NGRAM = 8


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pool():
    return load_cases(REPO / "agent_workspace" / "data" / "train.jsonl")


@pytest.fixture(scope="module")
def held():
    return load_cases(REPO / "ruler" / "tasks.jsonl") + load_cases(REPO / "ruler" / "holdout.jsonl")


def shared_ngrams(pool, held) -> list[str]:
    gold: dict[tuple[str, ...], str] = {}
    for case in held:
        for text in (case.task, case.gold.title, *case.gold.questions):
            for gram in word_grams(words(text), NGRAM):
                gold.setdefault(gram, case.id)
    found = []
    for item in pool:
        for text in (item.task, item.gold.title, *item.gold.questions):
            for gram in word_grams(words(text), NGRAM):
                if gram in gold:
                    found.append(f"{item.id} shares “{' '.join(gram)}” with {gold[gram]}")
    return sorted(set(found))


def near_duplicate_questions(pool, held) -> list[str]:
    embedder = get_embedder()
    held_qs = [(c.id, q) for c in held for q in c.gold.questions]
    pool_qs = [(p.id, q) for p in pool for q in p.gold.questions]
    sims = cosine_matrix(embedder.embed([q for _, q in pool_qs]), embedder.embed([q for _, q in held_qs]))
    rows, cols = np.nonzero(sims >= NEAR_DUPLICATE)
    return [f"{pool_qs[r][0]} {pool_qs[r][1]!r} ~ {held_qs[c][0]} {held_qs[c][1]!r} (cosine {sims[r, c]:.3f})"
            for r, c in zip(rows, cols)]


def test_pool_has_enough_well_formed_cases(pool):
    assert len(pool) >= 150
    assert len({c.id for c in pool}) == len(pool)


def test_no_training_task_near_duplicates_a_ruler_or_holdout_task(pool, held):
    embedder = get_embedder()
    sims = cosine_matrix(embedder.embed([c.task for c in pool]), embedder.embed([c.task for c in held]))
    worst = np.unravel_index(np.argmax(sims), sims.shape)
    assert sims.max() < NEAR_DUPLICATE, (
        f"training task {pool[worst[0]].id} {pool[worst[0]].task!r} is a near-duplicate "
        f"(cosine {sims.max():.3f}) of {held[worst[1]].id} {held[worst[1]].task!r}")


def test_no_training_item_shares_a_normalised_8gram_with_the_gold(pool, held):
    found = shared_ngrams(pool, held)
    assert not found, f"{len(found)} shared 8-grams: " + "; ".join(found[:12])


def test_no_training_question_near_duplicates_a_ruler_or_holdout_question(pool, held):
    found = near_duplicate_questions(pool, held)
    assert not found, f"{len(found)} near-duplicate questions: " + "; ".join(found[:12])


def test_the_guard_passes_on_the_shipped_workspace(repo_root: Path):
    from loop.daemon.guard import default_embedder, gold_index

    scan = scan_workspace(repo_root / "agent_workspace", gold_index(repo_root / "ruler"), default_embedder(),
                          rel_paths=_tracked(repo_root))
    assert scan.findings == []


def _tracked(repo_root: Path) -> list[str]:
    import subprocess

    out = subprocess.run(["git", "ls-files", "-z", "agent_workspace"], cwd=repo_root, capture_output=True, text=True)
    return [p.removeprefix("agent_workspace/") for p in out.stdout.split("\0") if p]


def test_the_checks_catch_a_disguised_or_reworded_ruler_question(pool, held):
    target = held[0]
    planted = target.model_copy(update={"id": "t999", "task": "Plan a city break", "gold": target.gold.model_copy(
        update={"questions": [q.replace("a", "\u0430") for q in target.gold.questions]})})  # Cyrillic a
    assert shared_ngrams([planted], held) or any(len(words(q)) < NGRAM for q in target.gold.questions)
    reworded = planted.model_copy(update={"gold": target.gold.model_copy(update={"questions": [
        "Which city will you travel to Paris from?"] + target.gold.questions[1:]})})
    assert any("t999" in f and "Which city" in f for f in near_duplicate_questions([reworded], held))
    index = GoldIndex([(c.id, "question", q) for c in held for q in c.gold.questions], [])
    assert index.lexical_hits("\n".join(planted.gold.questions))


def test_the_check_would_catch_a_reworded_ruler_task(held):
    embedder = get_embedder()
    sims = cosine_matrix(embedder.embed(["Plan a trip to Paris, France"]), embedder.embed([held[0].task]))
    assert held[0].task == "Plan a trip to Paris" and sims.max() >= NEAR_DUPLICATE
