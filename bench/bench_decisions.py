"""The false-keep rate of the whole decision procedure (keep rule + confirmation on fresh draws), and its
power, on simulated nights with a noisy judge.

The simulated judge: each of the 30 ruler cases has a true per-case score for a pipeline's outputs
(uniform 0.2-0.8); one judging of those outputs draws that score plus Gaussian noise of SD 0.2,
clipped to [0, 1] (the per-case SD that repeated judging measures is printed; ~0.2 is realistic for
an LLM judge). The daemon's procedure is run as it runs in `iteration.py`, through the same code
(`keep.decide_confirmed`, `keep.make_policy`, `keep.noise_floor_from`):

- the incumbent's stored scores are one judging of its outputs; its noise floor is that judging
  against a second one (re-measured on every new incumbent);
- a candidate's first round is one judging of its outputs against the stored incumbent scores;
  a pass is confirmed by judging BOTH outputs again (fresh draws) and running the same rule;
- a keep makes the candidate the incumbent (its first-round scores stand, its floor is re-measured).

A null night is 100 candidates with no true gain. Two nulls are reported: `judge` (the candidate's
outputs score exactly like the incumbent's on every case: all luck is the judge's draw), and `case`
(the candidate differs case by case, SD 0.1, with no gain over the population of tasks, so these 30
cases may favour it by chance: the confirmation re-judges the same outputs and cannot remove this
luck; the holdout speaks to it). Target: <= 1 expected false keep
per 100 null trials (judge null). Power at +0.05 and +0.10 is reported, not tuned.
"""

from __future__ import annotations

import time

import numpy as np

from loop.config import Config
from loop.daemon.keep import decide_confirmed, make_policy, noise_floor_from

CASES = [f"r{i:02d}" for i in range(1, 31)]
JUDGE_SD = 0.2
CASE_SD = 0.1
TRIALS_PER_NIGHT = 100
NIGHTS = 40
POWER_TRIALS = 1000


class SimulatedJudge:
    def __init__(self, rng: np.random.Generator, sd: float = JUDGE_SD):
        self.rng, self.sd = rng, sd

    def judge(self, truth: np.ndarray) -> dict[str, float]:
        return dict(zip(CASES, np.clip(truth + self.rng.normal(0, self.sd, size=len(truth)), 0, 1)))


def measured_judge_sd(rng: np.random.Generator, repeats: int = 50) -> float:
    judge, truth = SimulatedJudge(rng), rng.uniform(0.2, 0.8, size=len(CASES))
    draws = np.array([list(judge.judge(truth).values()) for _ in range(repeats)])
    return float(draws.std(axis=0, ddof=1).mean())


class Incumbent:
    def __init__(self, truth: np.ndarray, scores: dict[str, float], judge: SimulatedJudge):
        self.truth, self.scores = truth, scores
        self.floor = noise_floor_from(scores, judge.judge(truth))  # re-measured on every new incumbent


def decide(config: Config, judge: SimulatedJudge, incumbent: Incumbent, candidate_truth: np.ndarray, seed: int):
    first_scores = judge.judge(candidate_truth)
    policy = make_policy(config, incumbent.floor, seed=seed)
    confirm_policy = make_policy(config, incumbent.floor, seed=seed + 1_000_003)
    decision = decide_confirmed(
        policy, first_scores, incumbent.scores,
        lambda: (judge.judge(candidate_truth), judge.judge(incumbent.truth), []),
        noise_floor=incumbent.floor, confidence=config.keep_confidence, confirm_policy=confirm_policy)
    return decision, first_scores


def null_night(config: Config, rng: np.random.Generator, null: str, night: int) -> tuple[int, int, int]:
    """(false keeps, first rounds passed, decisions) over one night of null trials."""
    judge = SimulatedJudge(rng)
    truth = rng.uniform(0.2, 0.8, size=len(CASES))
    incumbent = Incumbent(truth, judge.judge(truth), judge)
    kept = passed = 0
    for trial in range(TRIALS_PER_NIGHT):
        shift = np.zeros(len(CASES))
        if null == "case":
            shift = rng.normal(0, CASE_SD, size=len(CASES))  # no gain over all tasks; luck on these 30
        candidate = np.clip(incumbent.truth + shift, 0, 1)
        decision, first_scores = decide(config, judge, incumbent, candidate, seed=night * 1000 + trial)
        passed += decision.first.keep
        if decision.keep:
            kept += 1
            incumbent = Incumbent(candidate, first_scores, judge)
    return kept, passed, TRIALS_PER_NIGHT


def power(config: Config, rng: np.random.Generator, gain: float) -> tuple[float, float]:
    """(share kept by the whole procedure, share passing the first round alone) for a true gain."""
    judge = SimulatedJudge(rng)
    kept = passed = 0
    for trial in range(POWER_TRIALS):
        truth = rng.uniform(0.2, 0.8, size=len(CASES))
        decision, _ = decide(config, judge, Incumbent(truth, judge.judge(truth), judge), truth + gain, seed=trial)
        kept += decision.keep
        passed += decision.first.keep
    return kept / POWER_TRIALS, passed / POWER_TRIALS


def main() -> None:
    config = Config()
    started = time.perf_counter()
    rng = np.random.default_rng(20261202)
    print(f"decisions_judge_sd_per_case_set: {JUDGE_SD}")
    print(f"decisions_judge_sd_per_case_measured: {measured_judge_sd(rng):.3f}")
    print(f"decisions_keep_confidence: {config.keep_confidence}")
    print(f"decisions_null_nights: {NIGHTS} x {TRIALS_PER_NIGHT} trials")
    for null in ("judge", "case"):
        results = [null_night(config, rng, null, night) for night in range(NIGHTS)]
        kept, passed = sum(r[0] for r in results), sum(r[1] for r in results)
        print(f"decisions_false_keeps_per_100_null_trials_{null}_null: {kept / NIGHTS:.2f}")
        print(f"decisions_first_round_passes_per_100_null_trials_{null}_null: {passed / NIGHTS:.2f}")
    print("decisions_false_keep_target_per_100: 1.0 (judge null)")
    for gain in (0.05, 0.10):
        whole, first = power(config, rng, gain)
        print(f"decisions_power_at_+{gain:.2f}: {whole:.3f} (first round alone {first:.3f})")
    print(f"decisions_bench_s: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
