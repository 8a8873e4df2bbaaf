"""The experiment rows: claiming numbers, step updates (each its own transaction), the incumbent,
and the log an agent or a person reads.

`enter_step` writes the step BEFORE the work starts, so a daemon killed at any point leaves a row
that says where it died. `AUTORESEARCH_CRASH_AT=<step>` SIGKILLs the process right after that write
(crash tests).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from loop.config import Config
from loop.daemon.keep import scores_from_rows
from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import session_scope
from loop.schemas import DIMENSIONS, Answer

FINAL = ("kept", "discarded", "invalid", "crashed", "superseded")
CRASH_ENV = "AUTORESEARCH_CRASH_AT"


# an experiment a dead daemon would leave: still running, or decided and recorded but not cleaned up
UNFINISHED = or_(Experiment.status == "running", Experiment.step.in_(("cleanup", "notify")))


class LeaseLost(RuntimeError):
    """Another worker recovered this experiment (its lease ran out): this worker must not write to it."""


def claim(config: Config, worker: str | None = None, **fields) -> int:
    """A new experiment row (status running, step claimed) with the next free number (0 first), held by
    `worker` under a lease (loop/daemon/leases.py); None = this process's default worker name."""
    from loop.daemon.leases import claim as claim_number
    from loop.daemon.workers import WorkerIdentity

    number = claim_number(config, worker or WorkerIdentity.current(config.worker).name, **fields)
    maybe_crash("claimed")
    return number


def maybe_crash(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def enter_step(config: Config, number: int, step: str) -> None:
    with session_scope(config) as db:
        row = db.get(Experiment, number)
        if row.status in ("crashed", "invalid") and step not in ("cleanup", "notify", "done"):
            raise LeaseLost(f"experiment {number:04d} was closed as {row.status} by another worker "
                            f"({row.reason}) while this one ran it")
        row.step = step
        if step == "done":
            row.lease_until = None
    maybe_crash(step)


def update(config: Config, number: int, **fields) -> None:
    with session_scope(config) as db:
        row = db.get(Experiment, number)
        for key, value in fields.items():
            setattr(row, key, value)


def get(config: Config, number: int) -> Experiment | None:
    with session_scope(config) as db:
        return db.get(Experiment, number)


def unfinished(config: Config) -> list[Experiment]:
    """Rows a dead daemon left: still running, or decided and recorded but not cleaned up."""
    with session_scope(config) as db:
        return list(db.scalars(select(Experiment).where(UNFINISHED).order_by(Experiment.number)))


class WorstCase(BaseModel):
    """One of the incumbent's worst cases as the agent may see it: its own answer, the judge's scores and
    notes, never the gold (the judge phrases its notes without quoting gold)."""

    case_id: str
    task: str
    score: float  # the case's contribution to quality
    verdict: str | None = None  # candidate | tie | gold (better)
    dims: dict[str, int | None] = Field(default_factory=dict)
    answer: Answer | None = None  # the incumbent's own answer
    failure_notes: str = ""
    invalid_reason: str | None = None


WORST_CASES = 5


@dataclass
class Incumbent:
    number: int
    commit: str
    quality: float
    scores: dict[str, float]  # case id -> per-case score on the full gate
    evaluation_id: int
    failure_notes: list[str] = field(default_factory=list)
    worst: list[WorstCase] = field(default_factory=list)  # its WORST_CASES lowest-scoring cases, answers included


def incumbent(config: Config, ruler_id: str, research_tip: str) -> Incumbent | None:
    """The kept experiment at the research tip with a full-gate official evaluation under this ruler."""
    with session_scope(config) as db:
        row = db.scalars(select(Experiment).where(Experiment.status == "kept", Experiment.commit == research_tip)
                         .order_by(Experiment.number.desc())).first()
        if row is None:
            return None
        evaluation = db.scalars(select(Evaluation).where(
            Evaluation.experiment_number == row.number, Evaluation.gate == "full", Evaluation.kind == "official",
            Evaluation.ruler_id == ruler_id).order_by(Evaluation.id.desc())).first()
        if evaluation is None:
            return None
        cases = list(db.scalars(select(CaseResult).where(CaseResult.evaluation_id == evaluation.id)))
        scores = scores_from_rows(cases)
        worst = sorted((c for c in cases if c.case_id in scores), key=lambda c: scores[c.case_id])[:WORST_CASES]
        notes = [f"{c.case_id} ({c.task}): {c.failure_notes or c.invalid_reason or 'no notes'}" for c in worst]
        return Incumbent(row.number, research_tip, evaluation.quality or 0.0, scores, evaluation.id, notes,
                         [_worst_case(c, scores[c.case_id]) for c in worst])


def _worst_case(case: CaseResult, score: float) -> WorstCase:
    try:
        answer = Answer.model_validate(case.candidate) if case.candidate else None
    except ValueError:
        answer = None
    return WorstCase(case_id=case.case_id, task=case.task, score=round(score, 3), verdict=case.verdict,
                     dims={d: getattr(case, d) for d in DIMENSIONS}, answer=answer,
                     failure_notes=case.failure_notes or "", invalid_reason=case.invalid_reason)


def dev_quality(config: Config, number: int) -> float | None:
    """Experiment `number`'s quality on the dev gate (its official dev evaluation with no judge error),
    or None when it has none (crashed or invalid before the dev gate, or judging failed)."""
    with session_scope(config) as db:
        return db.scalar(select(Evaluation.quality).where(
            Evaluation.experiment_number == number, Evaluation.gate == "dev", Evaluation.kind == "official",
            Evaluation.judge_errors == 0).order_by(Evaluation.id.desc()).limit(1))


def dev_gate_quality(config: Config, incumbent: Incumbent) -> float | None:
    """The incumbent's quality on the dev gate's cases (from its full-gate scores, as `rescore` compares)."""
    from loop.ruler_files import gate_cases

    scores = [incumbent.scores[c.id] for c in gate_cases(config.ruler_dir, "dev") if c.id in incumbent.scores]
    return sum(scores) / len(scores) if scores else None


def headline(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "(no hypothesis)"


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def log_markdown(config: Config, n: int = 20, *, before: int | None = None) -> str:
    """The last `n` experiments (numbered below `before`, when given) as a markdown table (what was tried,
    what it gave, why), plus the experiments the supervisor commented on most recently; the supervisor's
    feedback sits beside its experiment in a last column."""
    from loop.supervisor.store import commented_experiments, feedback_for, when

    commented = commented_experiments(config)
    with session_scope(config) as db:
        query = select(Experiment)
        if before is not None:
            query = query.where(Experiment.number < before)
        rows = list(db.scalars(query.order_by(Experiment.number.desc()).limit(n)))
        shown = {row.number for row in rows}
        extra = [k for k in commented if k not in shown and (before is None or k < before)]
        if extra:
            rows += list(db.scalars(select(Experiment).where(Experiment.number.in_(extra))))
    if not rows:
        return "No experiments yet."
    rows.sort(key=lambda row: row.number)
    feedback = feedback_for(config, [row.number for row in rows])
    head = "| # | status | gate | quality | delta | lever | hypothesis | reason |"
    rule = "|---|---|---|---|---|---|---|---|"
    if feedback:
        head, rule = head + " supervisor's feedback |", rule + "---|"
    lines = [head, rule]
    for row in rows:
        reason = (row.reason or "").replace("|", "/")[:160]
        line = (f"| {row.number} | {row.status} | {row.gate or '—'} | {_fmt(row.quality)} | "
                f"{_fmt(row.delta, True)} | {row.lever} | {headline(row.hypothesis).replace('|', '/')[:120]} | {reason} |")
        if feedback:
            said = " · ".join(f"{f.author} ({when(f.created_at)}): {f.text}" for f in feedback.get(row.number, []))
            line += f" {' '.join(said.replace('|', '/').split()) or '—'} |"
        lines.append(line)
    return "\n".join(lines)


def counts_by_status(config: Config) -> dict[str, int]:
    with session_scope(config) as db:
        return dict(db.execute(select(Experiment.status, func.count()).group_by(Experiment.status)).all())


def best(config: Config) -> Experiment | None:
    """The latest kept experiment (kept ones only ever improve on their parent)."""
    with session_scope(config) as db:
        return db.scalars(select(Experiment).where(Experiment.status == "kept")
                          .order_by(Experiment.number.desc())).first()
