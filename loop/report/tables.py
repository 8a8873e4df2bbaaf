"""The report's analysis tables, read from the record under one ruler id: the lever table, the cloud
ceiling (evaluations of kind `reference`, no experiment) and the mode re-judges (kind `rejudge`, no
experiment, `subject_experiment` names whose stored candidates were judged again; each mode under its
own ruler id). Ceiling and re-judge rows are written by `autoresearch analyze`; with none in the record
those tables are empty and the report says how to make them.

The lever table is `autoresearch analyze levers`'s own (`loop.analysis.levers.lever_table`), the ceiling
rows `autoresearch analyze ceiling`'s (`loop.analysis.record`: `on_device_best_in`, `references_in`), the
re-judge tables `autoresearch analyze rejudge`'s (`loop.analysis.rejudge_record.stored_rejudge_table`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from loop.analysis.levers import FINISHED, LeverRow, lever_table
from loop.analysis.record import ScoredRun, on_device_best_in, references_in
from loop.analysis.rejudge_modes import MODES, RejudgeTable
from loop.analysis.rejudge_record import stored_rejudge_table
from loop.db.models import Experiment


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


def rejudge_tables(config, ruler_id: str | None) -> list[RejudgeTable]:
    """`autoresearch analyze rejudge`'s stored tables, by its own reader
    (`loop.analysis.rejudge_record.stored_rejudge_table`): one per judge mode re-judged under `ruler_id`."""
    if ruler_id is None:
        return []
    return [table for mode in MODES if (table := stored_rejudge_table(config, ruler_id, mode)) is not None]
