"""The sealed holdout's verdict on every new best (never shown to the agent, never used to keep).

The baseline and every kept experiment are scored on the 20 holdout cases (evaluation kind
`holdout`). The record gets `holdout_quality`, `goodhart_gap` = ruler quality − holdout quality and
`goodhart_drift` = the gap minus the gap of the same model line's baseline (the two sets differ in
difficulty, so only the drift says the research is fitting the 30 ruler cases).

"Suspected overfit": a paired bootstrap of the new best against the previous best on the holdout
cases shows a drop at the keep rule's confidence, or the drift exceeds the official judge's noise
floor (under the deterministic proxy the floor is 0 and the paired test alone decides).
"""

from __future__ import annotations

import logging

from pydantic import BaseModel
from sqlalchemy import select

from loop.daemon.keep import Decision, PairedBootstrapPolicy, scores_from_outcomes, scores_from_rows
from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import session_scope

log = logging.getLogger("loop.daemon")


class HoldoutCheck(BaseModel):
    evaluation_id: int | None
    quality: float
    ruler_quality: float
    goodhart_gap: float
    goodhart_drift: float
    baseline: int | None  # the line's baseline experiment the drift is measured from
    previous_best: int | None = None
    previous_quality: float | None = None
    drop: Decision | None = None  # the paired test previous best vs new best on the holdout
    noise_floor: float = 0.0
    suspected_overfit: bool = False
    reason: str = ""


def holdout_scores(config, number: int) -> tuple[float, dict[str, float]] | None:
    """(quality, per-case scores) of experiment `number`'s latest holdout evaluation, if it has one."""
    with session_scope(config) as db:
        ev = db.scalars(select(Evaluation).where(Evaluation.experiment_number == number, Evaluation.kind == "holdout")
                        .order_by(Evaluation.id.desc())).first()
        if ev is None:
            return None
        rows = list(db.scalars(select(CaseResult).where(CaseResult.evaluation_id == ev.id)))
        return ev.quality or 0.0, scores_from_rows(rows)


def line_baseline(config, ruler_id: str, model_line: str | None) -> Experiment | None:
    """The newest baseline of this (ruler id, model line) that the holdout has scored."""
    with session_scope(config) as db:
        return db.scalars(select(Experiment).where(
            Experiment.agent == "baseline", Experiment.status == "kept", Experiment.ruler_id == ruler_id,
            Experiment.model_line == model_line, Experiment.goodhart_gap.is_not(None))
            .order_by(Experiment.number.desc())).first()


def judge_holdout(config, report, *, number: int, ruler_id: str, ruler_quality: float, model_line: str | None,
                  previous: int | None, noise_floor: float, is_baseline: bool) -> HoldoutCheck:
    """The check for a new best whose holdout evaluation is `report`; stored on the experiment row."""
    gap = ruler_quality - report.summary.quality
    base = None if is_baseline else line_baseline(config, ruler_id, model_line)
    drift = 0.0 if base is None else gap - base.goodhart_gap
    check = HoldoutCheck(evaluation_id=report.evaluation_id, quality=report.summary.quality,
                         ruler_quality=ruler_quality, goodhart_gap=gap, goodhart_drift=drift,
                         baseline=number if is_baseline else (base.number if base else None),
                         noise_floor=noise_floor)
    before = holdout_scores(config, previous) if previous is not None else None
    reasons = []
    if before is not None:
        check.previous_best, check.previous_quality = previous, before[0]
        check.drop = PairedBootstrapPolicy(config.bootstrap_samples, config.keep_confidence, 0.0, seed=number).decide(
            before[1], scores_from_outcomes(report.outcomes))
        if check.drop.keep:
            reasons.append(f"holdout fell from {before[0]:.4f} (experiment {previous:04d}) to {check.quality:.4f}: "
                           f"{check.drop.reason}")
    if noise_floor > 0 and drift > noise_floor:
        reasons.append(f"Goodhart drift {drift:+.4f} exceeds the judge's noise floor {noise_floor:.4f}")
    check.suspected_overfit = bool(reasons)
    check.reason = "; ".join(reasons) or "holdout consistent with the ruler"
    with session_scope(config) as db:
        row = db.get(Experiment, number)
        row.holdout_quality, row.goodhart_gap, row.goodhart_drift = check.quality, gap, drift
        row.holdout_check = check.model_dump(mode="json")
    log.info("experiment %04d: holdout %.4f, Goodhart gap %+.4f, drift %+.4f%s", number, check.quality, gap, drift,
             " — SUSPECTED OVERFIT: " + check.reason if check.suspected_overfit else "")
    return check
