"""The proxy judge: offline, deterministic, built on MiniLM sentence embeddings. A screen and the
offline default; it never masquerades as the official judge (its judge_id says "proxy").

Per set of seven questions (candidate, and gold by the same rules), each dimension is a continuous
score x in 0..1, reported as the integer 1 + round(4x):
- coverage: share of gold questions matched by some question of the set (cosine >= MATCH);
  the gold therefore covers itself fully;
- non_redundancy: from the max and mean pairwise cosine among the set's own questions;
- atomicity / naturalness: question form (`proxy_rules`);
- specificity: mean cosine of the questions to the task, less a share of their cosine to a fixed list
  of generic planning questions.
The verdict compares the mean of the continuous scores of candidate and gold, with a tie margin. The
rule is symmetric in the two sets, so the "candidate first" and "gold first" verdicts are the same
computation and always agree (the proxy has no position term). Same inputs -> same floats, bit for bit.

The constants below are part of the judge id "proxy:minilm-l6-int8/1+<hash of this code>": changing
them changes the id (and so the ruler id) automatically.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from loop.embedder import cosine_matrix
from loop.judges.embedding_judge import EmbeddingJudge
from loop.judges.proxy_rules import GENERIC_QUESTIONS, is_atomic, naturalness, to_dim, topic_kind
from loop.schemas import DIMENSIONS, Answer, Case, CaseJudgement, DimScores, Verdict

VERSION = 1
# the proxy's scoring rules live in code outside ruler/; their hash joins the judge id so that editing
# them yields a new ruler id instead of silently moving the measuring stick
RULE_FILES = ("proxy.py", "proxy_rules.py")

MATCH = 0.5  # cosine at which a set's question counts as asking a gold question
DUPLICATE = 0.8  # cosine at which two questions of one set count as near-duplicates
TIE_MARGIN = 0.10  # |overall(candidate) - overall(gold)| within this is a tie (a close paraphrase of gold ties)
GENERIC_WEIGHT = 0.25

class ProxyJudge(EmbeddingJudge):
    """Thread-safe (pure functions over a thread-safe embedder)."""

    VERSION = VERSION
    RULE_FILES = RULE_FILES
    LABEL = "proxy judge"

    def scores(self, case: Case, answer: Answer) -> dict[str, float]:
        """Continuous 0..1 score per dimension of `answer` for `case` (gold is the coverage reference)."""
        questions = [q.strip() for q in answer.questions if q.strip()] or [""]
        emb = self.embedder
        vectors = emb.embed(questions).astype(np.float64)
        gold = emb.embed(case.gold.questions).astype(np.float64)
        task = emb.embed([case.task]).astype(np.float64)
        generic = emb.embed(list(GENERIC_QUESTIONS)).astype(np.float64)
        matched = cosine_matrix(gold, vectors).max(axis=1) >= MATCH
        return {
            "atomicity": float(np.mean([is_atomic(q) for q in questions])),
            "specificity": _specificity(vectors, task, generic),
            "coverage": float(matched.mean()),
            "naturalness": float(np.mean([naturalness(q) for q in questions])),
            "non_redundancy": _non_redundancy(vectors),
        }

    def overall(self, scores: dict[str, float]) -> float:
        dims = [d for d in DIMENSIONS if self.mode == "standard" or d != "coverage"]
        return sum(scores[d] for d in dims) / len(dims)

    def compare(self, case: Case, set_a: Answer, set_b: Answer) -> str:
        """"A", "B" or "tie": the same symmetric rule whichever set is shown first."""
        diff = self.overall(self.scores(case, set_a)) - self.overall(self.scores(case, set_b))
        if abs(diff) <= TIE_MARGIN:
            return "tie"
        return "A" if diff > 0 else "B"

    def _judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        cand = self.scores(case, candidate)
        first = self.compare(case, candidate, case.gold)
        second = self.compare(case, case.gold, candidate)
        cand_first: Verdict = {"A": "candidate", "B": "gold", "tie": "tie"}[first]
        gold_first: Verdict = {"A": "gold", "B": "candidate", "tie": "tie"}[second]
        verdict: Verdict = cand_first if cand_first == gold_first else "tie"
        dims = DimScores(**{d: to_dim(cand[d]) for d in DIMENSIONS})
        gold_overall = self.overall(self.scores(case, case.gold))
        reasoning = (
            f"proxy scores (0..1) {', '.join(f'{d} {cand[d]:.2f}' for d in DIMENSIONS)}; "
            f"overall {self.overall(cand):.3f} vs gold {gold_overall:.3f} (tie margin {TIE_MARGIN})"
        )
        return CaseJudgement(
            dims=dims, verdict_candidate_first=cand_first, verdict_gold_first=gold_first, verdict=verdict,
            reasoning=reasoning, failure_notes=self._failure_notes(case, candidate), judge_calls=1,
        )

    def _failure_notes(self, case: Case, candidate: Answer) -> str:
        questions = [q.strip() for q in candidate.questions if q.strip()] or [""]
        vectors = self.embedder.embed(questions)
        gold = self.embedder.embed(case.gold.questions)
        missed = [q for q, hit in zip(case.gold.questions, cosine_matrix(gold, vectors).max(axis=1)) if hit < MATCH]
        notes = []
        if missed:
            kinds = Counter(topic_kind(q) for q in missed)
            listed = ", ".join(f"{k}" + (f" x{n}" if n > 1 else "") for k, n in sorted(kinds.items()))
            notes.append(f"misses {len(missed)} of {len(case.gold.questions)} decision-critical unknowns ({listed})")
        compound = sum(is_atomic(q) == 0.0 for q in questions)
        if compound:
            notes.append(f"{compound} compound question(s)")
        sims = cosine_matrix(vectors, vectors)
        dupes = int(np.sum(np.triu(sims, 1) >= DUPLICATE))
        if dupes:
            notes.append(f"{dupes} near-duplicate pair(s)")
        awkward = sum(naturalness(q) < 1.0 for q in questions)
        if awkward:
            notes.append(f"{awkward} question(s) not in natural question form")
        return "; ".join(notes)

def _specificity(vectors: np.ndarray, task: np.ndarray, generic: np.ndarray) -> float:
    to_task = cosine_matrix(vectors, task).ravel().astype(np.float64).mean()
    to_generic = cosine_matrix(vectors, generic).max(axis=1).astype(np.float64).mean()
    raw = float(to_task - GENERIC_WEIGHT * to_generic)
    return min(1.0, max(0.0, (raw + 0.05) / 0.25))

def _non_redundancy(vectors: np.ndarray) -> float:
    if len(vectors) < 2:
        return 0.0
    sims = cosine_matrix(vectors, vectors).astype(np.float64)
    upper = sims[np.triu_indices(len(vectors), 1)]
    worst = min(1.0, max(0.0, (0.95 - float(upper.max())) / 0.35))
    typical = min(1.0, max(0.0, (0.6 - float(upper.mean())) / 0.35))
    return 0.7 * worst + 0.3 * typical
