"""Gold-leak detection, independent of the sandbox: is a candidate a near-copy of the gold?

A candidate leaks when at least `min_copies` of its questions (default 3 of 7: a couple of generic
matches such as "What is your budget?" happen honestly) are near-copies of some gold question by any
of: equal after normalisation, word-trigram containment >= threshold, or sentence-embedding cosine
>= threshold. The evaluation harness calls `gold_leak` on every generated answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import numpy as np

from loop.schemas import Answer

log = logging.getLogger(__name__)
Embed = Callable[[list[str]], np.ndarray]


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _ngrams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def ngram_overlap(a: str, b: str, n: int = 3) -> float:
    """Share of the shorter text's word n-grams found in the other (containment), 0..1."""
    grams_a, grams_b = _ngrams(a, n), _ngrams(b, n)
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / min(len(grams_a), len(grams_b))


def _default_embed() -> Embed | None:
    try:
        from loop.embedder import get_embedder

        return get_embedder().embed
    except Exception as exc:  # no model files: the text checks still run
        log.warning("gold-leak check without embeddings: %s", exc)
        return None


def copied_questions(candidate: Answer, gold: Answer, threshold: float = 0.9,
                     embed: Embed | None = None) -> list[tuple[int, int, str]]:
    """(candidate index, gold index, how) for each candidate question that copies a gold question."""
    cand = [q for q in candidate.questions if q.strip()]
    gold_qs = [q for q in gold.questions if q.strip()]
    if not cand or not gold_qs:
        return []
    cosine = None
    if embed is not None:
        vectors = np.asarray(embed(cand + gold_qs), dtype=np.float32)
        cosine = vectors[: len(cand)] @ vectors[len(cand):].T
    gold_norm = [normalise(q) for q in gold_qs]
    found = []
    for i, question in enumerate(cand):
        norm = normalise(question)
        for j, gq in enumerate(gold_qs):
            if norm == gold_norm[j]:
                found.append((i, j, "identical"))
                break
            if ngram_overlap(question, gq) >= threshold:
                found.append((i, j, "trigram overlap"))
                break
            if cosine is not None and cosine[i, j] >= threshold:
                found.append((i, j, f"cosine {cosine[i, j]:.2f}"))
                break
    return found


def gold_leak(candidate: Answer, gold: Answer, threshold: float = 0.9, *, min_copies: int = 3,
              embed: Embed | None | str = "default") -> bool | str:
    """False, or a reason naming how many questions copy the gold and how."""
    if embed == "default":
        embed = _default_embed()
    found = copied_questions(candidate, gold, threshold, embed)
    if len(found) < min_copies:
        return False
    how = ", ".join(f"q{i + 1}~gold q{j + 1} ({kind})" for i, j, kind in found[:7])
    return f"{len(found)} of {len(candidate.questions)} questions copy the gold: {how}"
