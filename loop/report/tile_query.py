"""Reading the tile wall from the record: per experiment in the view, the trace of the official
evaluation that stands for it (`loop.dashboard.queries.chosen_evaluations`: full gate preferred) —
its first case in case order with a trace, as the experiment's process diagram does (the pipeline is
the same for every case). Only that one trace per experiment is read.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from loop.dashboard.queries import chosen_evaluations
from loop.db.models import CaseResult, Experiment
from loop.report.shape import AdapterCatalog, Shape, shape_of
from loop.report.tiles import Tile

WALL_WINDOW = 600  # default: the newest experiments of the view
CHUNK = 900  # bound parameters per IN (SQLite's limit is far above; PostgreSQL has none that matters)


def first_traces(conn: Connection, eval_ids: list[int]) -> dict[int, list]:
    """Evaluation id -> the trace of its first case (by case id) that has one."""
    out: dict[int, list] = {}
    for start in range(0, len(eval_ids), CHUNK):
        ids = eval_ids[start:start + CHUNK]
        first = (select(CaseResult.evaluation_id.label("eid"), func.min(CaseResult.case_id).label("cid"))
                 .where(CaseResult.evaluation_id.in_(ids)).group_by(CaseResult.evaluation_id).subquery())
        rows = conn.execute(select(CaseResult.evaluation_id, CaseResult.trace).join(
            first, and_(CaseResult.evaluation_id == first.c.eid, CaseResult.case_id == first.c.cid))).all()
        for eval_id, trace in rows:
            if trace:
                out[eval_id] = trace
        for eval_id in set(ids) - set(out):  # the first case had no trace (an invalid output): look further
            for (trace,) in conn.execute(select(CaseResult.trace).where(CaseResult.evaluation_id == eval_id)
                                         .order_by(CaseResult.case_id)):
                if trace:
                    out[eval_id] = trace
                    break
    return out


def read_tiles(conn: Connection, ruler_id: str | None, adapters: AdapterCatalog | None = None, *,
               first: int | None = None, last: int | None = None, window: int | None = WALL_WINDOW) -> list[Tile]:
    """Tiles of the experiments scored under `ruler_id` and of those never scored, in run order: the
    numbers `first..last` when given, else the newest `window` (None: all)."""
    query = select(Experiment.number, Experiment.status, Experiment.lever, Experiment.quality,
                   func.substr(Experiment.hypothesis, 1, 120)).where(
        or_(Experiment.ruler_id == ruler_id, Experiment.ruler_id.is_(None)))
    if first is not None:
        query = query.where(Experiment.number >= first)
    if last is not None:
        query = query.where(Experiment.number <= last)
    if first is None and window is not None:
        query = query.order_by(Experiment.number.desc()).limit(window)
    rows = sorted(conn.execute(query).all())
    chosen = chosen_evaluations(conn, [r[0] for r in rows], ruler_id)
    traces = first_traces(conn, sorted(set(chosen.values())))
    return [Tile(number=n, status=status, lever=lever or "inference", quality=quality, hypothesis=hypothesis or "",
                 shape=shape_of(traces.get(chosen.get(n, -1)), adapters) if n in chosen else Shape())
            for n, status, lever, quality, hypothesis in rows]
