"""A kept incumbent in the record without running a baseline: experiment 0 at `commit`, one official
full-gate evaluation under `ruler_id` with a stored case result per full-gate case (the incumbent's own
answer, dimensions, verdict and judge's notes), so `loop.daemon.experiments.incumbent` reads it as the
daemon would. The first WORST cases score lowest (dims 1-2, lost to gold), the rest tie with dims 4."""

from __future__ import annotations

from loop.db.models import CaseResult, Evaluation, Experiment, Ruler
from loop.db.session import session_scope
from loop.ruler_files import gate_cases

WORST = 5
DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


def own_answer(case_id: str) -> dict:
    return {"title": f"Own title for {case_id}",
            "questions": [f"Own question {n} about case {case_id}?" for n in range(1, 8)]}


def note(case_id: str) -> str:
    return f"Misses the party size and the budget on {case_id}; two questions overlap."


def seed_incumbent(config, commit: str, ruler_id: str, judge_id: str) -> None:
    cases = gate_cases(config.ruler_dir, "full")
    with session_scope(config) as db:
        db.add(Ruler(id=ruler_id, judge_id=judge_id, judge_mode="standard", files={}))
        db.add(Experiment(number=0, status="kept", step="done", commit=commit, quality=0.4, gate="full"))
        db.flush()
        ev = Evaluation(experiment_number=0, kind="official", gate="full", ruler_id=ruler_id, judge_id=judge_id,
                        workspace_hash="0" * 64, quality=0.4, dims={d: 3.0 for d in DIMS}, wins=0,
                        ties=len(cases) - WORST, losses=WORST)
        db.add(ev)
        db.flush()
        for index, case in enumerate(cases):
            low = index < WORST
            db.add(CaseResult(evaluation_id=ev.id, case_id=case.id, task=case.task, candidate=own_answer(case.id),
                              verdict="gold" if low else "tie", failure_notes=note(case.id) if low else "",
                              **{d: (1 + index % 2 if low else 4) for d in DIMS}))
