"""What the tile wall must show, worked out from the record on its own (plain queries, itertools):
per experiment of a ruler's view, its status and the stages of the trace of its standing official
evaluation (full gate preferred, newest), training first for adapters with metadata. The page reads
the same record through `loop.report`; the two must agree."""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

from sqlalchemy import or_, select

from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import session_scope

TILE_JS = """[...document.querySelectorAll('a.tile')].map(a => ({n: +a.dataset.number, status: a.dataset.status,
  href: a.getAttribute('href'), stages: [...a.querySelectorAll('g.stage')].map(g => [g.dataset.kind,
  g.dataset.label, +g.dataset.count, g.querySelectorAll('.mark.' + g.dataset.kind).length])}))"""


def expected_tiles(url: str, ruler_id: str, store: Path | None = None) -> dict[int, tuple[str, list[tuple]]]:
    out = {}
    with session_scope(url) as db:
        exps = db.execute(select(Experiment.number, Experiment.status).where(
            or_(Experiment.ruler_id == ruler_id, Experiment.ruler_id.is_(None))).order_by(Experiment.number)).all()
        for number, status in exps:
            evals = db.execute(select(Evaluation.id, Evaluation.gate).where(
                Evaluation.experiment_number == number, Evaluation.kind == "official",
                Evaluation.ruler_id == ruler_id)).all()
            trace = []
            if evals:
                eid = max(evals, key=lambda r: (r.gate == "full", r.id)).id
                traces = db.scalars(select(CaseResult.trace).where(CaseResult.evaluation_id == eid)
                                    .order_by(CaseResult.case_id)).all()
                trace = next((t for t in traces if t), [])
            stages = [(kind, label, len(list(run))) for (kind, label), run in
                      groupby(trace, key=lambda ev: (ev["kind"], ev["label"]))]
            training = []
            for sha in dict.fromkeys((ev.get("adapter") or {}).get("sha256") for ev in trace if ev["kind"] == "adapter"):
                meta = store / "objects" / sha[:2] / f"{sha}.meta.json" if store and sha else None
                if meta is not None and meta.exists():
                    training.append(("training", json.loads(meta.read_text())["recipe"], 1))
            out[number] = (status, training + stages)
    return out


def drawn(tiles: list[dict]) -> dict[int, tuple[str, list[tuple]]]:
    """The page's tiles as {number: (status, [(kind, label, count)])}; every mark of a stage is drawn."""
    for tile in tiles:
        for kind, label, count, marks in tile["stages"]:
            assert marks == min(count, 8), (tile["n"], kind, label, count, marks)
    return {t["n"]: (t["status"], [tuple(s[:3]) for s in t["stages"]]) for t in tiles}
