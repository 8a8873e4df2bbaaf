"""What a synthetic record (`tests.support.dashboard_records.populate`) needs besides for the report's
tests: adapter metadata in an adapter store (the sft adapter has some, the orpo one none), the noise
floor in keep decisions, a model-line change, sealed holdout cases (which the report must never show),
cloud references (the ceiling) and a coverage-blind re-judge of the incumbent with its five-dimension control
(case by case: the control repeats the official verdicts, the mode round turns every other loss into a tie).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from loop.adapters.store import AdapterStore
from loop.db.models import CaseResult, Evaluation, Event, Experiment, Ruler
from loop.db.session import session_scope
from tests.support.dashboard_records import ADAPTER_SHA, DIMS, RULER_NEW, add_references

RULER_BLIND = "c" * 63 + "3"
HOLDOUT_TASK = "Sealed holdout task: charter a glacier flight"
HOLDOUT_ANSWER = "Sealed holdout candidate question about glacier permits?"
HOLDOUT_GOLD = "Sealed holdout gold question: which glacier?"
LINE_OLD, LINE_NEW, LINE_FROM = "llama:qwen2.5-1.5b", "llama:qwen2.5-0.5b", 26
NOISE_FLOOR = 0.0125


def blind_verdict(verdict: str | None, index: int) -> str | None:
    """The coverage-blind round's verdict on the incumbent's case `index`: every other loss becomes a tie."""
    return "tie" if verdict == "gold" and index % 2 == 0 else verdict


@dataclass
class Extras:
    store: Path
    incumbent: int  # the newest kept experiment under RULER_NEW
    line_change: int  # the first scored experiment of the new model line


def add_report_extras(url: str, ruler_dir: Path, store: Path) -> Extras:
    AdapterStore(store).put_metadata(ADAPTER_SHA["sft"], {"recipe": "sft", "request": 1, "steps": 60,
                                                          "final_loss": 0.412, "data_card": {"counts": {"train": 120}}})
    (ruler_dir / "holdout.jsonl").write_text(json.dumps({"id": "h01", "task": HOLDOUT_TASK, "gold": {
        "title": "Glacier", "questions": [HOLDOUT_GOLD] * 7}}) + "\n")
    now = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
    with session_scope(url) as db:
        exps = db.scalars(select(Experiment).where(Experiment.ruler_id == RULER_NEW).order_by(Experiment.number)).all()
        line_change = None
        for exp in exps:
            exp.model_line = LINE_OLD if exp.number < LINE_FROM else LINE_NEW
            if exp.number >= LINE_FROM and line_change is None:
                line_change = exp.number
            exp.decision = {"keep": exp.status == "kept", "noise_floor": NOISE_FLOOR, "confidence": 0.975}
        db.add(Event(kind="model_line", experiment_number=line_change, created_at=now,
                     message=f"model changed from {LINE_OLD} to {LINE_NEW}: baseline 0.30 → 0.28, best 0.41 → 0.39"))
        kept = [e for e in exps if e.status == "kept"]
        incumbent = kept[-1]
        holdout = Evaluation(experiment_number=incumbent.number, kind="holdout", gate="holdout", ruler_id=RULER_NEW,
                             judge_id="j", workspace_hash="w", quality=0.4, created_at=now)
        holdout.cases = [CaseResult(case_id="h01", task=HOLDOUT_TASK, verdict="gold", reasoning="sealed reasoning",
                                    candidate={"title": "Glacier", "questions": [HOLDOUT_ANSWER] * 7})]
        db.add(holdout)
        add_references(db, now)
        db.add(Ruler(id=RULER_BLIND, judge_id="j:coverage-blind", judge_mode="coverage-blind",
                     files=db.get(Ruler, RULER_NEW).files, created_at=now))
        db.flush()
        official = db.scalars(select(Evaluation).where(
            Evaluation.experiment_number == incumbent.number, Evaluation.kind == "official",
            Evaluation.gate == incumbent.gate, Evaluation.ruler_id == RULER_NEW).order_by(Evaluation.id.desc())).first()
        for ruler, blind in ((RULER_NEW, False), (RULER_BLIND, True)):  # the control, then the mode round
            rejudge = Evaluation(experiment_number=None, subject_experiment=incumbent.number, kind="rejudge",
                                 gate=official.gate, ruler_id=ruler, judge_id="j", workspace_hash="w", created_at=now)
            rejudge.cases = [CaseResult(case_id=c.case_id, task=c.task, candidate=c.candidate,
                                        verdict=blind_verdict(c.verdict, i) if blind else c.verdict,
                                        **{d: getattr(c, d) for d in DIMS})
                             for i, c in enumerate(sorted(official.cases, key=lambda c: c.case_id))]
            db.add(rejudge)
            db.flush()
        return Extras(store=store, incumbent=incumbent.number, line_change=line_change)
