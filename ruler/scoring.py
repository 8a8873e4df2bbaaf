# ==================================================================================================
#  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN
#
#  This file is part of the RULER. Its bytes are hashed into the ruler id (RULER.lock).
#  Changing ANYTHING here -- even a comment or whitespace -- CHANGES THE RULER ID, and scores made
#  under the old id are no longer comparable with new ones. Do not edit during research.
#  A deliberate change is a NEW RULER VERSION: bump it, re-lock, and re-score the baselines.
#
#  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN  FROZEN
# ==================================================================================================
"""The quality formula (frozen).

quality = 0.5 * P + 0.5 * R, where
  P = mean pairwise score over scored cases (candidate better 1, tie 0.5, gold better 0), and
  R = mean over scored cases of (mean of the rubric dimensions - 1) / 4.

Each case is judged twice with the order of the two sets swapped; the two verdicts combine into one:
both agree -> that verdict, disagree -> tie, either missing -> None (not scored).

Judgements with `error` set (judge failures) are excluded from P and R and counted in `judge_errors`.
An invalid candidate (wrong shape, pipeline error, timeout) is NOT a judge failure: the harness passes
it in as `invalid_candidate_judgement(reason)`, a loss with every dimension at 1.

Judge modes: "standard" scores all five dimensions; "coverage-blind" (analyses only) drops coverage,
so R is the mean of the other four and the coverage figure a judge reports in that mode is ignored.
"""

from __future__ import annotations

from loop.schemas import DIMENSIONS, CaseJudgement, DimScores, QualitySummary, Verdict

PAIRWISE_SCORE: dict[str, float] = {"candidate": 1.0, "tie": 0.5, "gold": 0.0}
MODE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "standard": DIMENSIONS,
    "coverage-blind": tuple(d for d in DIMENSIONS if d != "coverage"),
}


def combine_verdicts(candidate_first: Verdict | None, gold_first: Verdict | None) -> Verdict | None:
    """Combine the two order-swapped verdicts: agreement keeps it, disagreement is a tie."""
    if candidate_first is None or gold_first is None:
        return None
    return candidate_first if candidate_first == gold_first else "tie"


def pairwise_score(verdict: Verdict) -> float:
    """Candidate better 1, tie 0.5, gold better 0."""
    return PAIRWISE_SCORE[verdict]


def rubric_score(dims: DimScores, dimensions: tuple[str, ...] = DIMENSIONS) -> float:
    """(mean of the dimensions - 1) / 4, in 0..1."""
    mean = sum(getattr(dims, d) for d in dimensions) / len(dimensions)
    return (mean - 1.0) / 4.0


def invalid_candidate_judgement(reason: str) -> CaseJudgement:
    """How an invalid candidate counts: a loss, every dimension 1, no judge call."""
    return CaseJudgement(
        dims=DimScores.floor(),
        verdict_candidate_first="gold",
        verdict_gold_first="gold",
        verdict="gold",
        reasoning=f"invalid candidate: {reason}",
        failure_notes=f"invalid candidate: {reason}",
        error=None,
        judge_calls=0,
    )


def is_scored(judgement: CaseJudgement) -> bool:
    """A judgement counts toward quality only with no error, dims present and a combined verdict."""
    return judgement.error is None and judgement.dims is not None and judgement.verdict is not None


def summarize(judgements: list[CaseJudgement], mode: str = "standard") -> QualitySummary:
    """The one quality number of a run and the figures it is made of."""
    dimensions = MODE_DIMENSIONS[mode]
    scored = [j for j in judgements if is_scored(j)]
    errors = len(judgements) - len(scored)
    n = len(scored)
    if n == 0:
        return QualitySummary(
            quality=0.0, pairwise=0.0, rubric=0.0, wins=0, ties=0, losses=0,
            dims={d: 0.0 for d in dimensions}, scored_cases=0, judge_errors=errors,
        )
    pairwise = sum(pairwise_score(j.verdict) for j in scored) / n
    rubric = sum(rubric_score(j.dims, dimensions) for j in scored) / n
    return QualitySummary(
        quality=0.5 * pairwise + 0.5 * rubric,
        pairwise=pairwise,
        rubric=rubric,
        wins=sum(j.verdict == "candidate" for j in scored),
        ties=sum(j.verdict == "tie" for j in scored),
        losses=sum(j.verdict == "gold" for j in scored),
        dims={d: sum(getattr(j.dims, d) for j in scored) / n for d in dimensions},
        scored_cases=n,
        judge_errors=errors,
    )
