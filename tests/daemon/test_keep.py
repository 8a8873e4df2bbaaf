"""The keep rule on synthetic per-case scores: false keeps stay rare, real gains are kept."""

from __future__ import annotations

import numpy as np

from loop.daemon.keep import GreedyPolicy, PairedBootstrapPolicy, case_score, noise_floor_from

CASES = [f"r{i:02d}" for i in range(1, 31)]


def synthetic_pair(rng: np.random.Generator, true_gain: float, sd: float = 0.1):
    """Incumbent and candidate per-case scores on the same 30 cases: shared case difficulty plus
    independent noise of sd `sd` on each side (so the paired difference has sd `sd * sqrt(2)`)."""
    difficulty = rng.uniform(0.2, 0.7, size=len(CASES))
    incumbent = difficulty + rng.normal(0, sd, size=len(CASES))
    candidate = difficulty + true_gain + rng.normal(0, sd, size=len(CASES))
    return dict(zip(CASES, candidate)), dict(zip(CASES, incumbent))


def keep_rate(true_gain: float, trials: int = 200, seed: int = 7, sd: float = 0.1, confidence: float = 0.975) -> float:
    rng = np.random.default_rng(seed)
    kept = 0
    for trial in range(trials):
        candidate, incumbent = synthetic_pair(rng, true_gain, sd)
        kept += PairedBootstrapPolicy(samples=1000, confidence=confidence, noise_floor=0.0, seed=trial).decide(
            candidate, incumbent).keep
    return kept / trials


def test_no_true_difference_is_kept_in_at_most_5_percent_of_200_trials():
    # the default rule (the 95% interval of the paired gain must exclude 0) keeps ~2.5% in the long run
    assert keep_rate(0.0) <= 0.05


def test_false_keeps_stay_at_the_nominal_rate_over_many_trials():
    # one-sided: 0.975 keeps ~2.5% and 0.95 ~5% of no-gain candidates in the long run (the uncorrected
    # percentile bootstrap kept 5.8% at 0.95); bounds = nominal + 1.645 binomial sd over 1000 trials
    assert keep_rate(0.0, trials=1000, seed=21) <= 0.033
    assert keep_rate(0.0, trials=1000, seed=21, confidence=0.95) <= 0.061


def test_a_real_gain_of_005_is_kept_most_of_the_time():
    # per-case noise sd 0.1 on the paired difference (the same 30 cases scored before and after)
    assert keep_rate(0.05, sd=0.1 / np.sqrt(2)) >= 0.7
    # noisier still: sd 0.1 on each side's score independently (paired difference sd 0.14)
    assert keep_rate(0.05) > 0.4


def test_greedy_keeps_noise_far_more_often_than_the_paired_rule():
    rng = np.random.default_rng(3)
    greedy = sum(GreedyPolicy().decide(*synthetic_pair(rng, 0.0)).keep for _ in range(200)) / 200
    assert greedy > 0.3 > keep_rate(0.0)


def test_decision_is_reproducible_and_reports_its_figures():
    candidate, incumbent = synthetic_pair(np.random.default_rng(1), 0.05)
    first = PairedBootstrapPolicy(noise_floor=0.0, seed=4).decide(candidate, incumbent)
    second = PairedBootstrapPolicy(noise_floor=0.0, seed=4).decide(candidate, incumbent)
    assert first == second
    assert first.cases == 30 and "resamples" in first.reason
    assert abs(first.delta - float(np.mean([candidate[c] - incumbent[c] for c in CASES]))) < 1e-12


def test_a_gain_below_the_noise_floor_is_not_kept():
    candidate = {c: 0.52 for c in CASES}
    incumbent = {c: 0.50 for c in CASES}
    assert PairedBootstrapPolicy(noise_floor=0.0).decide(candidate, incumbent).keep
    decision = PairedBootstrapPolicy(noise_floor=0.03).decide(candidate, incumbent)
    assert not decision.keep and "noise" in decision.reason


def test_only_cases_scored_on_both_sides_are_compared():
    candidate = {"r01": 0.9, "r02": 0.9}
    incumbent = {"r02": 0.5, "r03": 0.1}
    decision = GreedyPolicy().decide(candidate, incumbent)
    assert decision.cases == 1 and abs(decision.delta - 0.4) < 1e-12


def test_case_score_matches_the_quality_formula():
    dims = {"atomicity": 5, "specificity": 4, "coverage": 4, "naturalness": 5, "non_redundancy": 5}
    assert abs(case_score("tie", dims) - (0.25 + 0.5 * (4.6 - 1) / 4)) < 1e-12
    assert case_score("gold", {d: 1 for d in dims}) == 0.0
    assert case_score(None, dims) is None


def test_noise_floor_is_zero_for_identical_judgings_and_positive_otherwise():
    a = {c: 0.5 for c in CASES}
    assert noise_floor_from(a, dict(a)) == 0.0
    b = {c: 0.5 + (0.05 if i % 2 else -0.05) for i, c in enumerate(CASES)}
    assert noise_floor_from(a, b) > 0.0
