"""The frozen quality formula reproduces DESIGN's published check figures."""

from __future__ import annotations

import pytest

from loop.schemas import CaseJudgement, DimScores
from ruler.scoring import combine_verdicts, invalid_candidate_judgement, pairwise_score, summarize


def _j(verdict, dims, **kw) -> CaseJudgement:
    a, s, c, n, r = dims
    scores = DimScores(atomicity=a, specificity=s, coverage=c, naturalness=n, non_redundancy=r)
    return CaseJudgement(dims=scores, verdict_candidate_first=verdict, verdict_gold_first=verdict, verdict=verdict, **kw)


def _run(w, t, l, dims):
    return [_j("candidate", dims)] * w + [_j("tie", dims)] * t + [_j("gold", dims)] * l


@pytest.mark.parametrize(
    ("first", "second", "combined"),
    [
        ("candidate", "candidate", "candidate"),
        ("gold", "gold", "gold"),
        ("tie", "tie", "tie"),
        ("candidate", "gold", "tie"),
        ("gold", "tie", "tie"),
        (None, "gold", None),
        ("candidate", None, None),
    ],
)
def test_combine_verdicts(first, second, combined):
    assert combine_verdicts(first, second) == combined


def test_pairwise_score():
    assert [pairwise_score(v) for v in ("candidate", "tie", "gold")] == [1.0, 0.5, 0.0]


def test_frontier_check_figure():
    # W/T/L 4/18/8 over 30 cases, dims (5,4,4,5,5): P = 13/30, R = 0.9 -> 0.667
    summary = summarize(_run(4, 18, 8, (5, 4, 4, 5, 5)))
    assert (summary.wins, summary.ties, summary.losses, summary.scored_cases) == (4, 18, 8, 30)
    assert summary.pairwise == pytest.approx(13 / 30)
    assert summary.rubric == pytest.approx(0.9)
    assert summary.quality == pytest.approx(0.6667, abs=5e-4)
    assert round(summary.quality, 2) == 0.67
    assert summary.dims["atomicity"] == 5 and summary.dims["coverage"] == 4


def test_on_device_check_figure_29_cases_as_published():
    # The published W/T/L 2/5/22 sums to 29: P = 4.5/29, R = 0.7 -> 0.4276
    summary = summarize(_run(2, 5, 22, (4, 4, 3, 4, 4)))
    assert summary.scored_cases == 29
    assert summary.quality == pytest.approx(0.4276, abs=5e-4)
    assert round(summary.quality, 2) == 0.43


def test_on_device_check_figure_with_a_30th_loss():
    # One more loss to fill 30 cases: P = 4.5/30 = 0.15, R = 0.7 -> 0.425, still "about 0.43"
    summary = summarize(_run(2, 5, 23, (4, 4, 3, 4, 4)))
    assert summary.quality == pytest.approx(0.425)
    assert abs(summary.quality - 0.43) < 0.006


def test_judge_errors_are_excluded_not_scored():
    good = _run(1, 0, 0, (5, 5, 5, 5, 5))
    failed = CaseJudgement(dims=None, verdict_candidate_first=None, verdict_gold_first=None, verdict=None, error="timeout")
    summary = summarize(good + [failed, failed])
    assert summary.judge_errors == 2 and summary.scored_cases == 1
    assert summary.quality == pytest.approx(1.0)


def test_invalid_candidate_counts_as_loss_with_floor_dims():
    judgement = invalid_candidate_judgement("3 questions, expected 7")
    assert judgement.error is None and judgement.verdict == "gold"
    summary = summarize([judgement] + _run(1, 0, 0, (5, 5, 5, 5, 5)))
    assert summary.losses == 1 and summary.judge_errors == 0
    assert summary.quality == pytest.approx(0.5)
    assert "3 questions" in judgement.reasoning


def test_coverage_blind_mode_ignores_coverage():
    summary = summarize(_run(0, 1, 0, (5, 5, 1, 5, 5)), mode="coverage-blind")
    assert summary.rubric == pytest.approx(1.0)
    assert "coverage" not in summary.dims
    assert summarize(_run(0, 1, 0, (5, 5, 1, 5, 5))).rubric == pytest.approx(0.8)


def test_no_scored_cases():
    summary = summarize([])
    assert summary.quality == 0.0 and summary.scored_cases == 0
