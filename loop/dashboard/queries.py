"""SQL behind the dashboard's JSON endpoints. Columns are selected explicitly (no ORM objects), so the
data endpoint stays fast at 10,000 experiments; everything is returned column-wise, ready to plot.

Experiments are shown per ruler id (scores are comparable only under one ruler). Experiments that
never got a ruler id (crashed or still running before any scoring) have no score under any ruler;
they are shown in every ruler's view, unscored.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, null, or_, select
from sqlalchemy.engine import Connection

from loop.db.models import CaseResult, Evaluation, Event, Experiment, Ruler, TrainingRequest

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")
PAIRWISE = {"candidate": 1.0, "tie": 0.5, "gold": 0.0}
MATRIX_COLUMNS = 300  # default heatmap window: the newest experiments
MATRIX_MAX_COLUMNS = 2000
NIGHT_TAIL = 2000  # experiments searched for tonight's cost (a night holds far fewer)
HOVER_TEXT_MAX = 2000  # experiments in a view up to which the data carries hypotheses


def _total(column):
    """SUM that is 0.0 over no rows (portable: SQLite's TOTAL is not standard)."""
    return func.coalesce(func.sum(column), 0.0)


def raw_rows(conn: Connection, statement) -> list[tuple]:
    """Run a select (parameters bound by SQLAlchemy as usual) but fetch from the DBAPI cursor: plain tuples,
    no per-value result processing, which is most of the cost at 10,000 rows. Only for columns whose raw
    driver values are already what the page needs (numbers, text)."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def rulers(conn: Connection) -> list[dict[str, Any]]:
    """Rulers that scored at least one experiment, newest first (by the ruler's creation, then use)."""
    rows = conn.execute(
        select(Ruler.id, Ruler.judge_id, Ruler.judge_mode, func.count(Experiment.number), func.max(Experiment.number))
        .join(Experiment, Experiment.ruler_id == Ruler.id)
        .group_by(Ruler.id).order_by(Ruler.created_at.desc(), func.max(Experiment.number).desc())
    ).all()
    return [{"id": r[0], "judge_id": r[1], "judge_mode": r[2], "experiments": r[3], "last": r[4]} for r in rows]


def experiment_count(conn: Connection) -> int:
    return conn.execute(select(func.count(Experiment.number))).scalar_one()


class RecordState(NamedTuple):
    etag: str
    experiments: int
    total_cost_usd: float  # the agent's dollars, whole record
    total_judge_usd: float  # the judge's dollars, whole record


def record_state(conn: Connection, ruler_id: str | None) -> RecordState:
    """A cheap fingerprint of everything the page shows (the data endpoint's ETag), with the totals it
    reads anyway. Only columns stored before the (possibly large) diff and trace SVG are read, so no row's
    overflow pages are walked."""
    digest = hashlib.sha256((ruler_id or "").encode())
    exp = conn.execute(
        select(Experiment.status, func.count(), func.max(Experiment.number), _total(Experiment.quality),
               _total(Experiment.agent_cost_usd), func.max(Experiment.ruler_id), _total(func.length(Experiment.step)),
               _total(Experiment.judge_cost_usd))
        .group_by(Experiment.status).order_by(Experiment.status)
    ).all()
    evals = conn.execute(select(func.max(Evaluation.id))).scalar_one()
    req = conn.execute(select(func.count(), func.count(TrainingRequest.answered_at), func.max(TrainingRequest.id))).one()
    digest.update(repr((exp, evals, tuple(req))).encode())
    return RecordState(f'"{digest.hexdigest()[:32]}"', sum(r[1] for r in exp), float(sum(r[4] for r in exp)),
                       float(sum(r[7] for r in exp)))


def _in_view(ruler_id: str | None):
    return or_(Experiment.ruler_id == ruler_id, Experiment.ruler_id.is_(None))


def points(conn: Connection, ruler_id: str | None) -> dict[str, list]:
    """One entry per experiment in the view, column-wise: what the scatter plots need. Hypotheses (for the
    hover) come along only while the view is small enough for them not to dominate the payload."""
    view = _in_view(ruler_id)
    with_text = conn.execute(select(func.count()).select_from(Experiment).where(view)).scalar_one() <= HOVER_TEXT_MAX
    dims = [func.round(Experiment.dims[d].as_float(), 3) for d in DIMS]
    cols = [Experiment.number, Experiment.status, Experiment.lever, Experiment.operator,
            func.round(Experiment.quality, 4), *dims, Experiment.wins, Experiment.ties, Experiment.losses,
            func.round(Experiment.agent_cost_usd, 4), func.substr(Experiment.hypothesis, 1, 90) if with_text else null(),
            func.round(Experiment.holdout_quality, 4), func.round(Experiment.goodhart_gap, 4),
            func.round(Experiment.goodhart_drift, 4), Experiment.holdout_check["suspected_overfit"].as_boolean(),
            func.round(Experiment.judge_cost_usd, 4)]
    names = ["number", "status", "lever", "operator", "quality", *DIMS, "wins", "ties", "losses", "cost", "hypothesis",
             "holdout_quality", "goodhart_gap", "goodhart_drift", "suspected_overfit", "judge_cost"]
    rows = raw_rows(conn, select(*cols).where(view).order_by(Experiment.number))
    columns = list(map(list, zip(*rows))) if rows else [[] for _ in names]
    return dict(zip(names, columns))


def night_cost(conn: Connection) -> dict[str, float | int]:
    """Agent and judge cost for the night: the 24 hours up to the newest experiment's start, looked for
    among the newest NIGHT_TAIL experiments (start times sit after the diff and SVG in each row)."""
    tail = conn.execute(select(Experiment.started_at, Experiment.agent_cost_usd, Experiment.judge_cost_usd)
                        .order_by(Experiment.number.desc()).limit(NIGHT_TAIL)).all()
    starts = [t for t, _, _ in tail if t is not None]
    if not starts:
        return {"night_usd": 0.0, "night_judge_usd": 0.0, "night_experiments": 0}
    cut = max(starts) - timedelta(hours=24)
    night = [(c or 0.0, j or 0.0) for t, c, j in tail if t is not None and t >= cut]
    return {"night_usd": round(sum(c for c, _ in night), 4), "night_judge_usd": round(sum(j for _, j in night), 4),
            "night_experiments": len(night)}


def night_decisions(conn: Connection, ruler_id: str | None) -> dict[str, Any]:
    """Keep tests run in the night (the 24 hours up to the newest experiment's start, this ruler) and the
    false keeps their null expects (`loop.daemon.keep.multiplicity`, at each decision's own confidence)."""
    from loop.daemon.keep import multiplicity

    tail = conn.execute(select(Experiment.started_at, Experiment.decision).where(Experiment.ruler_id == ruler_id)
                        .order_by(Experiment.number.desc()).limit(NIGHT_TAIL)).all()
    starts = [t for t, _ in tail if t is not None]
    cut = max(starts) - timedelta(hours=24) if starts else None
    night = [d for t, d in tail if t is not None and t >= cut]
    confidence = next((d["confidence"] for d in night if d), 0.975)
    return multiplicity(night, confidence).model_dump()


def recent_events(conn: Connection, kind: str, limit: int = 10) -> list[dict[str, Any]]:
    rows = conn.execute(select(Event.created_at, Event.message).where(Event.kind == kind)
                        .order_by(Event.id.desc()).limit(limit)).all()
    return [{"at": t.isoformat(timespec="minutes") if t else None, "message": m} for t, m in rows]


def model_changes(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The newest "model changed from X to Y: baseline a → b, best c → d" events (loop.daemon.lines)."""
    return recent_events(conn, "model_line", limit)


def judge_drifts(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The newest judge drift notifications (loop.daemon.drift)."""
    return recent_events(conn, "judge_drift", limit)


def training_requests(conn: Connection) -> list[dict[str, Any]]:
    cols = [TrainingRequest.id, TrainingRequest.experiment_number, TrainingRequest.recipe, TrainingRequest.rationale,
            TrainingRequest.evidence, TrainingRequest.status, TrainingRequest.answer, TrainingRequest.path,
            TrainingRequest.created_at, TrainingRequest.answered_at, TrainingRequest.adapter_sha256,
            TrainingRequest.answer_experiment, Experiment.status, Experiment.quality]
    rows = conn.execute(select(*cols).outerjoin(Experiment, Experiment.number == TrainingRequest.answer_experiment)
                        .order_by(TrainingRequest.id.desc()).limit(200)).all()
    keys = ["id", "experiment", "recipe", "rationale", "evidence", "status", "answer", "path", "created", "answered",
            "adapter", "answer_experiment", "answer_status", "answer_quality"]  # request → adapter → experiment
    return [{k: (v.isoformat(timespec="minutes") if hasattr(v, "isoformat") else v) for k, v in zip(keys, row)}
            for row in rows]


def contribution(verdict: str | None, dims: tuple) -> float | None:
    """One case's share of quality: 0.5 * pairwise + 0.5 * (mean dims - 1) / 4; None when unscored."""
    if verdict not in PAIRWISE or any(d is None for d in dims):
        return None
    return 0.5 * PAIRWISE[verdict] + 0.5 * (sum(dims) / len(dims) - 1) / 4


def chosen_evaluations(conn: Connection, numbers: list[int], ruler_id: str | None) -> dict[int, int]:
    """Experiment -> the official evaluation that stands for it (full gate preferred, newest first)."""
    best: dict[int, tuple[bool, int]] = {}
    for start in range(0, len(numbers), 900):
        rows = conn.execute(
            select(Evaluation.experiment_number, Evaluation.id, Evaluation.gate)
            .where(Evaluation.experiment_number.in_(numbers[start:start + 900]), Evaluation.kind == "official",
                   Evaluation.ruler_id == ruler_id)).all()
        for number, eval_id, gate in rows:
            key = (gate == "full", eval_id)
            if number not in best or key > best[number]:
                best[number] = key
    return {number: key[1] for number, key in best.items()}


def case_contributions(conn: Connection, eval_ids: list[int]) -> dict[int, dict[str, float | None]]:
    out: dict[int, dict[str, float | None]] = {}
    cols = [CaseResult.evaluation_id, CaseResult.case_id, CaseResult.verdict,
            *(getattr(CaseResult, d) for d in DIMS)]
    for start in range(0, len(eval_ids), 900):
        for row in conn.execute(select(*cols).where(CaseResult.evaluation_id.in_(eval_ids[start:start + 900]))):
            out.setdefault(row[0], {})[row[1]] = contribution(row[2], tuple(row[3:]))
    return out


def matrix(conn: Connection, ruler_id: str | None, first: int | None = None, last: int | None = None) -> dict:
    """Per-task x experiment: each case's contribution minus the incumbent's (its parent's) same case."""
    query = select(Experiment.number, Experiment.parent, Experiment.status).where(Experiment.ruler_id == ruler_id)
    if last is not None:
        query = query.where(Experiment.number <= last)
    if first is not None:
        query = query.where(Experiment.number >= first).order_by(Experiment.number).limit(MATRIX_MAX_COLUMNS)
    else:
        query = query.order_by(Experiment.number.desc()).limit(MATRIX_COLUMNS)
    exps = sorted(conn.execute(query).all())
    wanted = sorted({n for n, _, _ in exps} | {p for _, p, _ in exps if p is not None})
    chosen = chosen_evaluations(conn, wanted, ruler_id)
    contrib = case_contributions(conn, sorted(set(chosen.values())))
    tasks = dict(conn.execute(select(CaseResult.case_id, func.min(CaseResult.task))
                              .where(CaseResult.evaluation_id.in_(sorted(set(chosen.values()))[:900]))
                              .group_by(CaseResult.case_id)).all())
    case_ids = sorted(tasks)
    z = [[None] * len(exps) for _ in case_ids]
    for col, (number, parent, _status) in enumerate(exps):
        mine = contrib.get(chosen.get(number, -1), {})
        theirs = contrib.get(chosen.get(parent, -1), {}) if parent is not None else {}
        for row, case_id in enumerate(case_ids):
            a, b = mine.get(case_id), theirs.get(case_id)
            if a is not None and b is not None:
                z[row][col] = round(a - b, 4)
    return {"x": [n for n, _, _ in exps], "status": [s for _, _, s in exps], "parent": [p for _, p, _ in exps],
            "cases": case_ids, "tasks": [tasks[c] for c in case_ids], "z": z}


CEILING_GATES = ("full", "dev")  # the climb's gates: a reference on each is a line of its own


def ceiling_references(conn: Connection, ruler_id: str | None) -> list[dict[str, Any]]:
    """The cloud ceiling under the view's ruler, read by the analyses' one reader
    (`loop.analysis.record.references_in`, on a session over this read-only connection): the newest
    reference per model and gate. The climb chart draws each as a labelled horizontal line, never as a point."""
    from sqlalchemy.orm import Session

    from loop.analysis.record import references_in

    if ruler_id is None:
        return []
    with Session(bind=conn) as db:
        runs = [run for gate in CEILING_GATES for run in references_in(db, ruler_id, gate)]
    return [run.model_dump(include={"model", "gate", "quality", "dims", "wins", "ties", "losses", "evaluation_id"})
            for run in runs]
