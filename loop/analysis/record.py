"""What the analyses read from the record, under one ruler id: the on-device best (a kept experiment's
official evaluation) and the cloud references (`kind = "reference"`, no experiment), each as a `ScoredRun`.

Only stored figures are read (quality, dims, W/T/L as the harness summarised them with
`ruler.scoring.summarize`); nothing here recomputes a score.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, computed_field
from sqlalchemy import select
from sqlalchemy.orm import Session

from loop.db.models import Evaluation, Experiment
from loop.db.session import session_scope

REFERENCE_KIND = "reference"  # set by the harness for a cloud candidate (loop.evaluate.evaluate)


class ScoredRun(BaseModel):
    """One stored evaluation as a row of an analysis table."""

    label: str  # "on-device best (experiment 0007)" or the cloud model id
    where: Literal["on-device", "cloud"]
    experiment: int | None  # the experiment it scored (None for a reference)
    evaluation_id: int
    model: str | None  # the runner's model
    gate: str
    quality: float
    dims: dict[str, float]
    wins: int
    ties: int
    losses: int

    @computed_field
    @property
    def coverage(self) -> float | None:
        return self.dims.get("coverage")

    @computed_field
    @property
    def cases(self) -> int:
        return self.wins + self.ties + self.losses


def _run(ev: Evaluation, label: str, where: str) -> ScoredRun:
    return ScoredRun(label=label, where=where, experiment=ev.experiment_number, evaluation_id=ev.id,
                     model=ev.runner_model, gate=ev.gate, quality=ev.quality or 0.0, dims=dict(ev.dims or {}),
                     wins=ev.wins, ties=ev.ties, losses=ev.losses)


def on_device_best(config, ruler_id: str, gate: str) -> ScoredRun | None:
    """The kept experiment whose official full-gate evaluation under `ruler_id` scored highest (newest on a
    tie: keep decisions are made on the full gate), shown on `gate`'s cases: on the dev gate, its stored
    judgements of the dev cases summarised by the ruler (`ruler.scoring.summarize`)."""
    with session_scope(config) as db:
        run = on_device_best_in(db, ruler_id)
    return run if run is None or gate == "full" else _on_gate(config, run, gate)


def on_device_best_in(db: Session, ruler_id: str | None) -> ScoredRun | None:
    """`on_device_best` on the full gate, on an open session (the report binds one to its connection)."""
    ev = db.scalars(
        select(Evaluation).join(Experiment, Experiment.number == Evaluation.experiment_number)
        .where(Experiment.status == "kept", Evaluation.kind == "official", Evaluation.gate == "full",
               Evaluation.ruler_id == ruler_id, Evaluation.judge_errors == 0)
        .order_by(Evaluation.quality.desc(), Evaluation.id.desc()).limit(1)).first()
    return None if ev is None else _run(ev, f"on-device best (experiment {ev.experiment_number:04d})", "on-device")


def _on_gate(config, run: ScoredRun, gate: str) -> ScoredRun:
    from loop.daemon.rejudge import stored_report
    from loop.ruler_files import gate_cases
    from ruler.scoring import summarize

    ids = {c.id for c in gate_cases(config.ruler_dir, gate)}
    summary = summarize([o.judgement for o in stored_report(config, run.evaluation_id).outcomes if o.case_id in ids])
    return run.model_copy(update={"gate": gate, "quality": summary.quality, "dims": summary.dims,
                                  "wins": summary.wins, "ties": summary.ties, "losses": summary.losses})


def references(config, ruler_id: str, gate: str, models: list[str] | None = None) -> list[ScoredRun]:
    """The newest cloud reference evaluation per model on `gate` under `ruler_id`: in the order of `models`
    when given (a model with none is left out), else by quality, lowest first (as the seeds' table)."""
    with session_scope(config) as db:
        return references_in(db, ruler_id, gate, models)


def references_in(db: Session, ruler_id: str | None, gate: str, models: list[str] | None = None) -> list[ScoredRun]:
    """`references` on an open session (the dashboard binds one to its read-only connection)."""
    rows = db.scalars(select(Evaluation).where(
        Evaluation.kind == REFERENCE_KIND, Evaluation.experiment_number.is_(None), Evaluation.gate == gate,
        Evaluation.ruler_id == ruler_id, Evaluation.judge_errors == 0).order_by(Evaluation.id.desc())).all()
    newest: dict[str, ScoredRun] = {}
    for ev in rows:
        if ev.runner_model and ev.runner_model not in newest:
            newest[ev.runner_model] = _run(ev, ev.runner_model, "cloud")
    if models is not None:
        return [newest[m] for m in models if m in newest]
    return sorted(newest.values(), key=lambda r: (r.quality, r.label))
