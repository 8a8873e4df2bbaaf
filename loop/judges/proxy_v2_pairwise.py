"""Proxy v2's pairwise verdict: a second signal, computed between the two sets, not from their rubric means.

The two sets' questions are matched one to one (greedy on the cosine of their task-masked texts; a
pair below `SAME_ASK` is no match). Then each set earns, per question, its *value* (how task-specific,
well-formed and new within its own set the question is, a product, so one fault sinks a question):
- matched pairs: both ask the same thing; the better-asked one earns the difference;
- unmatched questions: asks the other set lacks; each earns its full value.
The margin is (value of what A asks beyond or better than B) − (the same for B), over seven questions.
Because gold is not the reference here, a candidate that asks everything gold asks and replaces a weak
gold question with a strong one comes out better than gold.

Part of proxy v2's identity: its judge id carries a hash of this file.
"""

from __future__ import annotations

import numpy as np

SAME_ASK = 0.55  # masked cosine at which two questions of different sets ask the same thing
PAIR_TIE = 0.12  # |margin| within this is a tie


def match(sims: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of rows to columns by descending similarity, pairs >= threshold."""
    pairs: list[tuple[int, int, float]] = []
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    order = np.dstack(np.unravel_index(np.argsort(-sims, axis=None, kind="stable"), sims.shape))[0]
    for r, c in order:
        r, c = int(r), int(c)
        if r in used_rows or c in used_cols:
            continue
        if sims[r, c] < threshold:
            break
        pairs.append((r, c, float(sims[r, c])))
        used_rows.add(r)
        used_cols.add(c)
    return pairs


def margin(value_a: list[float], value_b: list[float], sims_ab: np.ndarray) -> float:
    """>0 when set A is the more useful set, <0 when B is; antisymmetric in (A, B)."""
    pairs = match(sims_ab, SAME_ASK)
    matched_a = {r for r, _, _ in pairs}
    matched_b = {c for _, c, _ in pairs}
    score = sum(value_a[r] - value_b[c] for r, c, _ in pairs)
    score += sum(v for i, v in enumerate(value_a) if i not in matched_a)
    score -= sum(v for i, v in enumerate(value_b) if i not in matched_b)
    return score / max(len(value_a), len(value_b), 1)


def verdict(margin_ab: float) -> str:
    """"A", "B" or "tie"."""
    if abs(margin_ab) <= PAIR_TIE:
        return "tie"
    return "A" if margin_ab > 0 else "B"
