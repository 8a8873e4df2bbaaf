"""SQL behind the dashboard's JSON endpoints. Columns are selected explicitly (no ORM objects), so the
data endpoint stays fast at 10,000 experiments; everything is returned column-wise, ready to plot.

Experiments are shown per ruler id (scores are comparable only under one ruler). Experiments that
never got a ruler id (crashed or still running before any scoring) have no score under any ruler;
they are shown in every ruler's view, unscored.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from loop.db.models import CaseResult, Evaluation, Experiment, Ruler, TrainingRequest

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")
PAIRWISE = {"candidate": 1.0, "tie": 0.5, "gold": 0.0}
MATRIX_COLUMNS = 300  # default heatmap window: the newest experiments
MATRIX_MAX_COLUMNS = 2000


def _total(column):
    """SUM that is 0.0 over no rows (portable: SQLite's TOTAL is not standard)."""
    return func.coalesce(func.sum(column), 0.0)


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


def signature(conn: Connection, ruler_id: str | None) -> str:
    """A cheap fingerprint of everything the page shows; it is the data endpoint's ETag."""
    digest = hashlib.sha256((ruler_id or "").encode())
    exp = conn.execute(
        select(Experiment.status, func.count(), func.max(Experiment.number), _total(Experiment.quality),
               _total(Experiment.agent_cost_usd), func.max(Experiment.finished_at), func.max(Experiment.ruler_id))
        .group_by(Experiment.status).order_by(Experiment.status)
    ).all()
    req = conn.execute(select(func.count(), func.count(TrainingRequest.answered_at), func.max(TrainingRequest.id))).one()
    digest.update(repr((exp, tuple(req))).encode())
    return digest.hexdigest()[:32]


def _in_view(ruler_id: str | None):
    return or_(Experiment.ruler_id == ruler_id, Experiment.ruler_id.is_(None))


def points(conn: Connection, ruler_id: str | None) -> dict[str, list]:
    """One entry per experiment in the view, column-wise: what the scatter plots need."""
    dims = [Experiment.dims[d].as_float() for d in DIMS]
    cols = [Experiment.number, Experiment.status, Experiment.lever, Experiment.operator, Experiment.quality,
            *dims, Experiment.wins, Experiment.ties, Experiment.losses, Experiment.agent_cost_usd, Experiment.gate,
            Experiment.parent, func.substr(Experiment.hypothesis, 1, 100)]
    names = ["number", "status", "lever", "operator", "quality", *DIMS, "wins", "ties", "losses", "cost", "gate",
             "parent", "hypothesis"]
    rows = conn.execute(select(*cols).where(_in_view(ruler_id)).order_by(Experiment.number)).all()
    out: dict[str, list] = {name: [] for name in names}
    for row in rows:
        for name, value in zip(names, row):
            out[name].append(round(value, 4) if isinstance(value, float) else value)
    return out


def costs(conn: Connection) -> dict[str, float | int | None]:
    """Agent cost overall and for the night (the 24 hours up to the newest experiment's start)."""
    newest = conn.execute(select(func.max(Experiment.started_at))).scalar_one()
    total = conn.execute(select(_total(Experiment.agent_cost_usd))).scalar_one()
    if newest is None:
        return {"total_usd": 0.0, "night_usd": 0.0, "night_experiments": 0}
    night = conn.execute(select(_total(Experiment.agent_cost_usd), func.count())
                         .where(Experiment.started_at >= newest - timedelta(hours=24))).one()
    return {"total_usd": round(total, 4), "night_usd": round(night[0], 4), "night_experiments": night[1]}


def training_requests(conn: Connection) -> list[dict[str, Any]]:
    cols = [TrainingRequest.id, TrainingRequest.experiment_number, TrainingRequest.recipe, TrainingRequest.rationale,
            TrainingRequest.evidence, TrainingRequest.status, TrainingRequest.answer, TrainingRequest.path,
            TrainingRequest.created_at, TrainingRequest.answered_at]
    rows = conn.execute(select(*cols).order_by(TrainingRequest.id.desc()).limit(200)).all()
    keys = ["id", "experiment", "recipe", "rationale", "evidence", "status", "answer", "path", "created", "answered"]
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
