"""Deterministic clean-up after generation: near-duplicate removal, a coverage check against a
topic list, and over-generate-and-prune (keep the n most diverse, topic-covering questions)."""

from __future__ import annotations

import numpy as np

from . import embedding
from .tracing import traced_step


def dedupe(questions: list[str], threshold: float = 0.9, *, model=None, embed=embedding.embed) -> list[str]:
    """Drop a question whose cosine to an earlier kept question is >= threshold (order kept)."""
    with traced_step("dedupe", model, threshold=threshold, given=len(questions)) as detail:
        if len(questions) < 2:
            return list(questions)
        vectors = embed(questions)
        kept: list[int] = []
        for i in range(len(questions)):
            if all(float(vectors[i] @ vectors[j]) < threshold for j in kept):
                kept.append(i)
        detail["kept"] = len(kept)
        return [questions[i] for i in kept]


def coverage(questions: list[str], topics: list[str], threshold: float = 0.5, *, model=None,
             embed=embedding.embed) -> dict[str, bool]:
    """For each topic: does some question reach cosine >= threshold with it?"""
    with traced_step("coverage check", model, topics=len(topics)) as detail:
        if not topics or not questions:
            return {t: False for t in topics}
        sims = embed(topics) @ embed(questions).T
        covered = {t: bool(sims[i].max() >= threshold) for i, t in enumerate(topics)}
        detail["covered"] = sum(covered.values())
        return covered


def prune(questions: list[str], n: int = 7, *, topics: list[str] | None = None, threshold: float = 0.9,
          model=None, embed=embedding.embed) -> list[str]:
    """Over-generate-and-prune: dedupe, then while more than n remain drop the question most
    redundant with the rest (sparing the best match of each topic); refill from the dropped ones if
    dedupe left fewer than n. Original order is kept."""
    with traced_step("prune", model, given=len(questions), target=n) as detail:
        if len(questions) <= n:
            return list(questions)
        vectors = embed(questions)
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -1.0)
        alive = []
        for i in range(len(questions)):
            if all(sims[i, j] < threshold for j in alive):
                alive.append(i)
        protected: set[int] = set()
        if topics:
            topic_sims = embed(topics) @ vectors.T
            protected = {int(np.argmax(row)) for row in topic_sims}
        while len(alive) > n:
            candidates = [i for i in alive if i not in protected] or alive
            worst = max(candidates, key=lambda i: max(sims[i, j] for j in alive if j != i))
            alive.remove(worst)
        for i in range(len(questions)):
            if len(alive) >= n:
                break
            if i not in alive:
                alive.append(i)
        alive.sort()
        detail["kept"] = len(alive)
        return [questions[i] for i in alive]
