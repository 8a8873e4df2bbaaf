"""The keep rule: does a candidate beat the incumbent on the same cases, beyond the noise?

Per-case quality contribution = 0.5 * pairwise + 0.5 * (mean dims - 1) / 4, so the mean over cases
of these contributions is the run's quality (ruler/scoring.py). Cases a judge failed on (either side)
are left out of the paired comparison.

- `PairedBootstrapPolicy` (default): resample the per-case differences (candidate - incumbent) with
  replacement `samples` times (with a small-sample correction, see `small_sample_inflation`); keep
  only when the mean difference exceeds the measured noise floor AND the share of resamples with a
  positive mean difference is >= `confidence`. The default 0.975 means the two-sided 95% interval of
  the paired gain lies above zero: about 2.5% of candidates with no true gain are kept. Seeded: the
  same scores always give the same decision.
- `GreedyPolicy`: keep any mean improvement above the noise floor (no significance test).

The noise floor is measured on each new incumbent (per ruler id and model line) by judging its
outputs twice with the caches bypassed (`noise_floor_from`): the standard error of the mean
per-case difference between the two runs. A deterministic judge gives 0.

The decision procedure (`decide_confirmed`): the keep rule on the official full-gate scores
(verdicts the agent never saw); a candidate that passes is CONFIRMED before it is kept: candidate
and incumbent outputs are judged again with fresh draws and the same rule must pass on those too.
Both rounds are returned (`KeepDecision`) and recorded. The confirmation re-judges the same
outputs, so it removes judge-draw luck, not case-sampling luck (the holdout speaks to the latter).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable, Iterable, Mapping, Protocol

import numpy as np
from pydantic import BaseModel

from ruler.scoring import PAIRWISE_SCORE

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


class Decision(BaseModel):
    keep: bool
    reason: str
    delta: float  # mean per-case difference, candidate - incumbent
    p_improve: float  # share of bootstrap resamples with a positive mean difference (1/0 for greedy)
    cases: int = 0  # cases compared


def case_score(verdict: str | None, dims: Mapping[str, float | int | None] | None) -> float | None:
    """One case's quality contribution, or None when the case was not scored (judge failure)."""
    if verdict is None or not dims or any(dims.get(d) is None for d in DIMS):
        return None
    mean_dims = sum(float(dims[d]) for d in DIMS) / len(DIMS)
    return 0.5 * PAIRWISE_SCORE[verdict] + 0.5 * (mean_dims - 1.0) / 4.0


def scores_from_outcomes(outcomes: Iterable) -> dict[str, float]:
    """case id -> score from an EvaluationReport's `outcomes` (judge failures left out)."""
    scores = {}
    for outcome in outcomes:
        j = outcome.judgement
        if j is None or j.error is not None or j.dims is None:
            continue
        score = case_score(j.verdict, j.dims.model_dump())
        if score is not None:
            scores[outcome.case_id] = score
    return scores


def scores_from_rows(rows: Iterable) -> dict[str, float]:
    """case id -> score from stored `CaseResult` rows."""
    scores = {}
    for row in rows:
        if row.judge_error:
            continue
        score = case_score(row.verdict, {d: getattr(row, d) for d in DIMS})
        if score is not None:
            scores[row.case_id] = score
    return scores


def paired(candidate: Mapping[str, float], incumbent: Mapping[str, float]) -> np.ndarray:
    common = sorted(set(candidate) & set(incumbent))
    return np.array([candidate[c] - incumbent[c] for c in common], dtype=np.float64)


def noise_floor_from(first: Mapping[str, float], second: Mapping[str, float]) -> float:
    """Standard error of the mean per-case difference between two judgings of the same outputs."""
    diff = paired(first, second)
    if len(diff) == 0:
        return 0.0
    if len(diff) == 1:
        return float(abs(diff[0]))
    return float(np.std(diff, ddof=1) / math.sqrt(len(diff)))


def small_sample_inflation(n: int, confidence: float) -> float:
    """Widening of the bootstrap distribution so its one-sided error matches a paired t-test.

    The plain percentile bootstrap of a mean is too narrow for small n (it uses the biased variance
    and normal tails): at n = 30 it keeps ~5.8% of candidates with no true gain at 95% confidence.
    Scaling the resampled deviations by sqrt(n/(n-1)) * t_{n-1}(confidence) / z(confidence) brings
    that back to the nominal 5%. (t quantile by its Cornish-Fisher expansion; no scipy needed.)"""
    if n < 3:
        return 1.0
    z = NormalDist().inv_cdf(confidence)
    v = n - 1
    t = z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
    return math.sqrt(n / (n - 1)) * t / z


class KeepPolicy(Protocol):
    def decide(self, candidate: Mapping[str, float], incumbent: Mapping[str, float]) -> Decision: ...


class PairedBootstrapPolicy:
    def __init__(self, samples: int = 2000, confidence: float = 0.975, noise_floor: float = 0.0, seed: int = 0):
        self.samples, self.confidence, self.noise_floor, self.seed = samples, confidence, noise_floor, seed

    def decide(self, candidate: Mapping[str, float], incumbent: Mapping[str, float]) -> Decision:
        diff = paired(candidate, incumbent)
        if len(diff) == 0:
            return Decision(keep=False, reason="no case scored on both sides", delta=0.0, p_improve=0.0)
        delta = float(diff.mean())
        rng = np.random.default_rng(self.seed)
        picks = rng.integers(0, len(diff), size=(self.samples, len(diff)))
        resampled = delta + (diff[picks].mean(axis=1) - delta) * small_sample_inflation(len(diff), self.confidence)
        p_improve = float((resampled > 0).mean())
        figures = (f"mean per-case delta {delta:+.4f} (noise floor {self.noise_floor:.4f}), "
                   f"{p_improve:.1%} of {self.samples} paired resamples improve over {len(diff)} cases")
        if delta <= self.noise_floor:
            return Decision(keep=False, reason=f"not beyond the noise: {figures}", delta=delta,
                            p_improve=p_improve, cases=len(diff))
        if p_improve < self.confidence:
            return Decision(keep=False, reason=f"not confident (< {self.confidence:.1%}): {figures}",
                            delta=delta, p_improve=p_improve, cases=len(diff))
        return Decision(keep=True, reason=f"beats the incumbent: {figures}", delta=delta, p_improve=p_improve,
                        cases=len(diff))


class GreedyPolicy:
    def __init__(self, noise_floor: float = 0.0):
        self.noise_floor = noise_floor

    def decide(self, candidate: Mapping[str, float], incumbent: Mapping[str, float]) -> Decision:
        diff = paired(candidate, incumbent)
        delta = float(diff.mean()) if len(diff) else 0.0
        keep = len(diff) > 0 and delta > self.noise_floor
        verb = "beats" if keep else "does not beat"
        return Decision(keep=keep, reason=f"greedy: {verb} the incumbent by mean per-case delta {delta:+.4f} "
                        f"(noise floor {self.noise_floor:.4f})", delta=delta, p_improve=1.0 if keep else 0.0,
                        cases=len(diff))


def make_policy(config, noise_floor: float, seed: int = 0) -> KeepPolicy:
    if config.keep_policy == "greedy":
        return GreedyPolicy(noise_floor)
    return PairedBootstrapPolicy(config.bootstrap_samples, config.keep_confidence, noise_floor, seed)


class KeepDecision(BaseModel):
    """Both rounds of one keep decision: `first` on the official scores, `confirm` on fresh draws (None
    when the first round already said no, so no confirmation was run)."""

    keep: bool
    reason: str
    first: Decision
    confirm: Decision | None = None
    noise_floor: float
    confidence: float
    confirm_evaluations: list[int] = []  # the two `confirm` evaluations (candidate, incumbent)


ConfirmRound = Callable[[], tuple[Mapping[str, float], Mapping[str, float], list[int]]]
"""Fresh draws: () -> (candidate scores, incumbent scores, ids of the evaluations recorded for them)."""


def decide_confirmed(policy: KeepPolicy, candidate: Mapping[str, float], incumbent: Mapping[str, float],
                     confirm: ConfirmRound, *, noise_floor: float, confidence: float,
                     confirm_policy: KeepPolicy | None = None) -> KeepDecision:
    """The keep rule, then (only when it passes) the same rule on a confirmation round of fresh draws."""
    first = policy.decide(candidate, incumbent)
    figures = dict(noise_floor=noise_floor, confidence=confidence)
    if not first.keep:
        return KeepDecision(keep=False, reason=first.reason, first=first, **figures)
    fresh_candidate, fresh_incumbent, evaluation_ids = confirm()
    second = (confirm_policy or policy).decide(fresh_candidate, fresh_incumbent)
    if second.keep:
        reason = f"{first.reason}; confirmed on fresh draws: {second.reason}"
    else:
        reason = f"not confirmed on fresh draws ({second.reason}); first round: {first.reason}"
    return KeepDecision(keep=second.keep, reason=reason, first=first, confirm=second,
                        confirm_evaluations=evaluation_ids, **figures)


class Multiplicity(BaseModel):
    """How many keep tests a night ran and how many false keeps its null would expect."""

    keep_tests: int  # experiments that reached the keep rule (first round)
    confirmations: int  # of which passed it and were re-judged on fresh draws
    rejected_by_confirmation: int
    kept: int
    confidence: float
    expected_false_keeps: float  # sum of (1 - confidence) over the tests: the keep rule's own rate under the null


def multiplicity(decisions: Iterable[Mapping | None], confidence: float) -> Multiplicity:
    """From stored `Experiment.decision` values (a `KeepDecision` dump, None where no test ran); each test
    counts at the confidence it was run at (`confidence` for a record that does not say)."""
    done = [d for d in decisions if d]
    confirmed = [d for d in done if d.get("confirm")]
    return Multiplicity(keep_tests=len(done), confirmations=len(confirmed),
                        rejected_by_confirmation=sum(1 for d in confirmed if not d["confirm"]["keep"]),
                        kept=sum(1 for d in done if d.get("keep")), confidence=confidence,
                        expected_false_keeps=round(sum(1 - d.get("confidence", confidence) for d in done), 4))
