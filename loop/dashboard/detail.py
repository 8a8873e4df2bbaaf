"""Everything the experiment page shows about one experiment, read with explicit columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from loop.db.models import CaseResult, Evaluation, Experiment, TrainingRequest
from loop.dashboard.queries import DIMS, case_contributions, chosen_evaluations, contribution
from loop.errors import InputError
from loop.schemas import Case

EXPERIMENT_COLUMNS = [c for c in Experiment.__table__.columns if c.name not in ("trace_svg",)]
CASE_COLUMNS = [c for c in CaseResult.__table__.columns if c.name not in ("trace",)]
EVAL_COLUMNS = [Evaluation.id, Evaluation.kind, Evaluation.gate, Evaluation.ruler_id, Evaluation.judge_id,
                Evaluation.quality, Evaluation.wins, Evaluation.ties, Evaluation.losses, Evaluation.judge_errors,
                Evaluation.confinement, Evaluation.position_flip_rate, Evaluation.created_at]


@dataclass
class ExperimentDetail:
    experiment: dict[str, Any]
    has_diagram: bool
    parent: dict[str, Any] | None
    evaluations: list[dict[str, Any]]
    evaluation: dict[str, Any] | None  # the one whose cases are shown
    cases: list[dict[str, Any]]  # each with "contribution" and "parent_contribution"
    requests: list[dict[str, Any]]
    previous: int | None
    next: int | None
    gold: dict[str, Case] = field(default_factory=dict)
    gold_error: str | None = None


def _row(conn: Connection, columns, *where) -> dict[str, Any] | None:
    row = conn.execute(select(*columns).where(*where)).mappings().first()
    return dict(row) if row else None


def load_gold(ruler_dir: Path) -> tuple[dict[str, Case], str | None]:
    """The full gate's gold sets by case id, or the reason they cannot be read."""
    from loop.ruler_files import gate_cases

    try:
        return {case.id: case for case in gate_cases(ruler_dir, "full")}, None
    except InputError as exc:
        return {}, str(exc)


def trace_svg(conn: Connection, number: int) -> str | None:
    return conn.execute(select(Experiment.trace_svg).where(Experiment.number == number)).scalar_one_or_none()


def experiment_detail(conn: Connection, number: int, evaluation_id: int | None = None) -> ExperimentDetail | None:
    exp = _row(conn, EXPERIMENT_COLUMNS, Experiment.number == number)
    if exp is None:
        return None
    has_diagram = bool(conn.execute(select(func.length(Experiment.trace_svg)).where(Experiment.number == number))
                       .scalar_one_or_none())
    parent = None
    if exp["parent"] is not None:
        parent = _row(conn, [Experiment.number, Experiment.status, Experiment.quality, Experiment.dims,
                             Experiment.wins, Experiment.ties, Experiment.losses, Experiment.ruler_id],
                      Experiment.number == exp["parent"])
    evaluations = [dict(r) for r in conn.execute(select(*EVAL_COLUMNS).where(Evaluation.experiment_number == number)
                                                 .order_by(Evaluation.id)).mappings()]
    ids = {e["id"] for e in evaluations}
    if evaluation_id not in ids:
        evaluation_id = chosen_evaluations(conn, [number], exp["ruler_id"]).get(number)
    if evaluation_id is None and evaluations:
        evaluation_id = evaluations[-1]["id"]
    evaluation = next((e for e in evaluations if e["id"] == evaluation_id), None)
    cases: list[dict[str, Any]] = []
    if evaluation is not None:
        cases = [dict(r) for r in conn.execute(select(*CASE_COLUMNS).where(CaseResult.evaluation_id == evaluation_id)
                                               .order_by(CaseResult.case_id)).mappings()]
        parent_eval = None
        if parent is not None:
            parent_eval = chosen_evaluations(conn, [parent["number"]], evaluation["ruler_id"]).get(parent["number"])
        theirs = case_contributions(conn, [parent_eval]).get(parent_eval, {}) if parent_eval else {}
        for case in cases:
            case["contribution"] = contribution(case["verdict"], tuple(case[d] for d in DIMS))
            case["parent_contribution"] = theirs.get(case["case_id"])
    req_cols = [TrainingRequest.id, TrainingRequest.recipe, TrainingRequest.rationale, TrainingRequest.evidence,
                TrainingRequest.status, TrainingRequest.answer]
    requests = [dict(r) for r in conn.execute(select(*req_cols).where(TrainingRequest.experiment_number == number))
                .mappings()]
    previous = conn.execute(select(func.max(Experiment.number)).where(Experiment.number < number)).scalar_one()
    following = conn.execute(select(func.min(Experiment.number)).where(Experiment.number > number)).scalar_one()
    return ExperimentDetail(experiment=exp, has_diagram=has_diagram, parent=parent, evaluations=evaluations,
                            evaluation=evaluation, cases=cases, requests=requests, previous=previous, next=following)
