"""The report's analysis tables, read from the record under one ruler id: the lever table, the cloud
ceiling (evaluations of kind `reference`, no experiment) and the mode re-judges (kind `rejudge`, no
experiment, `subject_experiment` names whose stored candidates were judged again; each mode under its
own ruler id). Ceiling and re-judge rows are written by `autoresearch analyze`; with none in the record
those tables are empty and the report says how to make them.

The lever table is `autoresearch analyze levers`'s own (`loop.analysis.levers.lever_table`), the ceiling
rows `autoresearch analyze ceiling`'s (`loop.analysis.record`: `on_device_best_in`, `references_in`).
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from loop.analysis.levers import FINISHED, LeverRow, lever_table
from loop.analysis.record import ScoredRun, on_device_best_in, references_in
from loop.db.models import Evaluation, Experiment, Ruler

REJUDGE_KIND = "rejudge"


class RejudgeRow(BaseModel):
    experiment: int  # whose stored candidates were judged again
    mode: str  # the judge mode of the re-judge's ruler (e.g. coverage-blind)
    ruler_id: str
    control_quality: float | None  # the five-dimension control of the same round (mode standard)
    quality: float | None
    official_quality: float | None  # the experiment's logged quality
    losses_before: int | None  # losses to gold of the control (else the official evaluation)
    losses_after: int

    @property
    def delta(self) -> float | None:
        base = self.control_quality if self.control_quality is not None else self.official_quality
        return None if base is None or self.quality is None else self.quality - base


def lever_rows(conn: Connection, ruler_id: str | None) -> list[LeverRow]:
    rows = conn.execute(select(Experiment.number, Experiment.agent, Experiment.lever, Experiment.status,
                               Experiment.quality, Experiment.dims, Experiment.gate)
                        .where(Experiment.ruler_id == ruler_id, Experiment.status.in_(FINISHED))
                        .order_by(Experiment.number)).all()
    return lever_table(rows)


def ceiling_rows(conn: Connection, ruler_id: str | None) -> list[ScoredRun]:
    """`autoresearch analyze ceiling`'s table from the record, by the analyses' own reader
    (`loop.analysis.record`, on a session over this connection): the on-device best on the full gate, then
    the newest full-gate reference per cloud model (lowest quality first); empty when there is no reference."""
    with Session(bind=conn) as db:
        refs = references_in(db, ruler_id, "full")
        best = on_device_best_in(db, ruler_id) if refs else None
    return ([best] if best else []) + refs


def rejudge_rows(conn: Connection, ruler_id: str | None) -> list[RejudgeRow]:
    """Mode re-judges of experiments scored under `ruler_id`: the newest per (experiment, mode)."""
    found = conn.execute(
        select(Evaluation.id, Evaluation.subject_experiment, Evaluation.ruler_id, Ruler.judge_mode, Evaluation.quality,
               Evaluation.losses, Experiment.quality, Experiment.losses)
        .join(Ruler, Ruler.id == Evaluation.ruler_id)
        .join(Experiment, Experiment.number == Evaluation.subject_experiment)
        .where(Evaluation.kind == REJUDGE_KIND, Evaluation.experiment_number.is_(None),
               Experiment.ruler_id == ruler_id).order_by(Evaluation.id.desc())).all()
    newest: dict[tuple[int, str], tuple] = {}
    for row in found:
        newest.setdefault((row[1], row[3]), row)
    out = []
    for (number, mode), row in sorted(newest.items()):
        if mode == "standard":
            continue
        control = newest.get((number, "standard"))
        out.append(RejudgeRow(experiment=number, mode=mode, ruler_id=row[2], quality=row[4], losses_after=row[5],
                              control_quality=control[4] if control else None, official_quality=row[6],
                              losses_before=control[5] if control else row[7]))
    return out
