"""The re-judge table read back from the record, for readers that judge nothing (the report, a later look).

A re-judge run records, per experiment, the control (kind `rejudge` under the standard ruler id) and then
the mode round (kind `rejudge` under a ruler whose `judge_mode` is the mode, over the same ruler files).
The newest mode round per experiment (under the mode ruler of the newest such round) is paired with the newest control recorded before it for that
experiment; each report is summarised by the ruler in its own mode (`ruler.scoring.summarize`).
"""

from __future__ import annotations

from sqlalchemy import select

from loop.analysis import AnalysisRefused
from loop.analysis.rejudge_modes import REJUDGE_KIND, RejudgeTable, row_of, subjects
from loop.db.models import Evaluation, Ruler
from loop.db.session import session_scope
from ruler.scoring import summarize


def _pairs(config, ruler_id: str, mode: str) -> tuple[Ruler, Ruler, list[tuple[int, int, int]]] | None:
    """(standard ruler, mode ruler, [(experiment, control evaluation id, mode evaluation id)]) or None."""
    with session_scope(config) as db:
        standard = db.get(Ruler, ruler_id)
        if standard is None:
            return None
        moded = [r for r in db.scalars(select(Ruler).where(Ruler.judge_mode == mode)) if r.files == standard.files]
        evals = list(db.scalars(select(Evaluation).where(Evaluation.kind == REJUDGE_KIND,
                                                         Evaluation.ruler_id.in_([ruler_id, *(r.id for r in moded)]))
                                .order_by(Evaluation.id.desc())))
        newest = next((ev for ev in evals if ev.ruler_id != ruler_id), None)  # its ruler is the mode's
        if newest is None:
            return None
        pairs: dict[int, tuple[int, int, int]] = {}
        for ev in evals:
            if ev.ruler_id != newest.ruler_id or ev.subject_experiment is None or ev.subject_experiment in pairs:
                continue
            control = next((c for c in evals if c.ruler_id == ruler_id and c.id < ev.id
                            and c.subject_experiment == ev.subject_experiment), None)
            if control is not None:
                pairs[ev.subject_experiment] = (ev.subject_experiment, control.id, ev.id)
        if not pairs:
            return None
        mode_ruler = next(r for r in moded if r.id == newest.ruler_id)
        return standard, mode_ruler, sorted(pairs.values())


def stored_rejudge_table(config, ruler_id: str, mode: str = "coverage-blind") -> RejudgeTable | None:
    """The newest re-judging in `mode` of each experiment scored under `ruler_id`, or None when there is none."""
    from loop.daemon.rejudge import stored_report

    found = _pairs(config, ruler_id, mode)
    if found is None:
        return None
    standard, mode_ruler, pairs = found
    rows = []
    for number, control_id, mode_id in pairs:
        try:
            subject = subjects(config, [number], ruler_id, standard.judge_id)[0]
        except AnalysisRefused:  # the experiment's official evaluation is gone or elsewhere: no logged figure
            continue
        control, in_mode = stored_report(config, control_id), stored_report(config, mode_id)
        in_mode.summary = summarize([o.judgement for o in in_mode.outcomes], mode=mode)
        rows.append(row_of(config, subject, stored_report(config, subject.evaluation_id), control, in_mode))
    return RejudgeTable(mode=mode, ruler_id=ruler_id, judge_id=standard.judge_id, mode_ruler_id=mode_ruler.id,
                        mode_judge_id=mode_ruler.judge_id, rows=rows) if rows else None
