"""Measuring the judge's noise floor for a ruler: re-judge the incumbent's outputs, caches bypassed.

The incumbent's answers are judged a second time directly (no verdict cache); the standard error of
the mean per-case difference between the two judgings is the noise floor (`keep.noise_floor_from`).
A deterministic judge (the proxy) gives exactly 0. The second judging is recorded as an evaluation
of kind "noise", and the figure is stored per ruler id (an Event row of kind "noise_floor").
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from loop.daemon import experiments
from loop.daemon.keep import noise_floor_from, scores_from_outcomes
from loop.ruler_files import gate_cases
from loop.schemas import CaseJudgement
from ruler.scoring import summarize

log = logging.getLogger("loop.daemon")


def _rejudge(judge, case, outcome) -> CaseJudgement:
    try:
        return judge.judge(case, outcome.candidate)
    except Exception as exc:
        return CaseJudgement(dims=None, verdict_candidate_first=None, verdict_gold_first=None, verdict=None,
                             error=f"judge raised {type(exc).__name__}: {exc}")


def measure_noise_floor(resources, report, number: int) -> float:
    """Re-judge `report`'s scored outputs once more and store the noise floor for its ruler."""
    from loop.eval_record import record_evaluation

    config, judge = resources.config, resources.judge
    cases = {c.id: c for c in gate_cases(config.ruler_dir, report.gate)}
    outcomes = [o.model_copy(deep=True) for o in report.outcomes]
    to_judge = [o for o in outcomes if o.candidate is not None and not o.invalid_reason and o.case_id in cases]
    with ThreadPoolExecutor(config.judge_concurrency, thread_name_prefix="noise") as pool:
        judgements = list(pool.map(lambda o: _rejudge(judge, cases[o.case_id], o), to_judge))
    for outcome, judgement in zip(to_judge, judgements):
        outcome.judgement = judgement
        outcome.from_cache = False
    second = report.model_copy(update={
        "kind": "noise", "outcomes": outcomes, "summary": summarize([o.judgement for o in outcomes]),
        "judge_calls": sum(j.judge_calls for j in judgements), "evaluation_id": None})
    evaluation_id = record_evaluation(config, second, number)
    floor = noise_floor_from(scores_from_outcomes(report.outcomes), scores_from_outcomes(outcomes))
    experiments.store_noise_floor(config, report.ruler_id, floor, number, {
        "evaluation_id": report.evaluation_id, "noise_evaluation_id": evaluation_id,
        "first_quality": report.summary.quality, "second_quality": second.summary.quality})
    log.info("noise floor under ruler %s: %.4f (qualities %.4f vs %.4f on re-judging)", report.ruler_id[:12],
             floor, report.summary.quality, second.summary.quality)
    return floor
