"""The experiment record: ONE typed object per experiment, from which everything that tells what
happened is made — the database row (`row_fields`), the commit message and its trailers
(`message`, `trailers`), the notification (`notice`) and, after a crash, the recovery's salvage
commit (`ExperimentRecord.from_row`, then the same `message`).

The iteration builds it as it goes (claim → agent → evaluation → decision → commit) and writes it
whole; nothing downstream re-derives a field from a dict. Quantities the daemon measured and the
agent's own claims sit side by side and never overwrite each other: `lever` is derived from the
committed workspace (`loop.adapters.pointer.derived_lever`), `lever_claimed` is what the agent said;
`quality` is the daemon's, `agent_claimed_quality` the agent's.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from loop.daemon.agents.base import Lever
from loop.daemon.gitrecord import commit_message, exp_tag
from loop.db.models import Evaluation, Experiment
from loop.db.session import session_scope
from loop.schemas import JudgeUsage

Status = Literal["running", "kept", "discarded", "invalid", "crashed", "superseded"]  # superseded: research_line.py
USAGE_COLUMNS = {"input_tokens": "judge_input_tokens", "output_tokens": "judge_output_tokens",
                 "cache_read_tokens": "judge_cache_read_tokens", "cache_creation_tokens": "judge_cache_write_tokens",
                 "cost_usd": "judge_cost_usd"}  # JudgeUsage field -> column (experiments and evaluations)


class Notice(BaseModel):
    """One notification an experiment's end deserves (`loop.daemon.notify.notify`)."""

    kind: Literal["new_best", "invalid"]
    message: str
    payload: dict


class ExperimentRecord(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    number: int
    status: Status = "running"
    reason: str | None = None
    operator: str = "autonomous"
    agent: str | None = None
    worker: str | None = None  # the worker that ran it (`run --worker NAME`)
    parent: int | None = None  # the incumbent's number (None for a baseline)
    parent_commit: str | None = None
    ruler_id: str | None = None
    judge_id: str | None = None
    hypothesis: str | None = None
    method: str | None = None
    lever: Lever = "inference"  # derived by the daemon from the committed workspace
    lever_claimed: Lever | None = None  # what the agent said it pulled (recorded, never trusted)
    # the decisive evaluation
    gate: str | None = None
    quality: float | None = None
    delta: float | None = None
    dims: dict[str, float] | None = None
    wins: int | None = None
    ties: int | None = None
    losses: int | None = None
    runner_model: str | None = None
    runner_version: str | None = None
    trace_svg: str | None = None
    # the agent's own account
    agent_cost_usd: float | None = None
    agent_turns: int | None = None
    agent_tokens: dict[str, int] | None = None
    agent_denials: list[str] | None = None
    agent_claimed_quality: float | None = None
    # the judge's bill over all this experiment's evaluations (None until summed)
    judge: JudgeUsage | None = None
    # git and time
    commit: str | None = None
    branch: str | None = None
    diff: str | None = None
    finished_at: datetime | None = None
    durations: dict[str, float] = Field(default_factory=dict)

    ROW: ClassVar[tuple[str, ...]] = ("status", "reason", "operator", "agent", "worker", "parent", "parent_commit", "ruler_id", "judge_id", "hypothesis",
           "method", "lever", "lever_claimed", "gate", "quality", "delta", "dims", "wins", "ties", "losses",
           "runner_model", "runner_version", "trace_svg", "agent_cost_usd", "agent_turns", "agent_tokens",
           "agent_denials", "agent_claimed_quality", "commit", "branch", "diff", "finished_at", "durations")

    # --- the database row -------------------------------------------------------------------------
    def row_fields(self) -> dict:
        """The `Experiment` columns this record sets (every one of them: the record is the whole truth)."""
        fields = {name: getattr(self, name) for name in self.ROW}
        if self.judge is not None:
            fields.update({column: getattr(self.judge, name) for name, column in USAGE_COLUMNS.items()})
        return fields

    def save(self, config) -> None:
        with session_scope(config) as db:
            row = db.get(Experiment, self.number)
            for key, value in self.row_fields().items():
                setattr(row, key, value)

    @classmethod
    def from_row(cls, row: Experiment) -> "ExperimentRecord":
        values = {name: getattr(row, name) for name in cls.ROW}
        values["durations"] = dict(row.durations or {})
        if row.judge_cost_usd is not None:
            values["judge"] = JudgeUsage(**{name: getattr(row, column) or 0 for name, column in USAGE_COLUMNS.items()})
        return cls(number=row.number, **values)

    @classmethod
    def load(cls, config, number: int) -> "ExperimentRecord":
        with session_scope(config) as db:
            return cls.from_row(db.get(Experiment, number))

    def with_report(self, report) -> None:
        """Take the decisive evaluation's figures (an `EvaluationReport`)."""
        from loop.daemon.recording import trace_svg

        s = report.summary
        self.dims, self.wins, self.ties, self.losses = dict(s.dims), s.wins, s.ties, s.losses
        self.runner_model, self.runner_version = report.backend.model, report.backend.model_version
        self.trace_svg = trace_svg(report, self.number)

    def sum_judge(self, config) -> JudgeUsage:
        """The judge's tokens and dollars over every evaluation of this experiment, into `judge`."""
        columns = [func.coalesce(func.sum(getattr(Evaluation, c)), 0) for c in USAGE_COLUMNS.values()]
        with session_scope(config) as db:
            totals = db.execute(select(*columns).where(Evaluation.experiment_number == self.number)).one()
        self.judge = JudgeUsage(**dict(zip(USAGE_COLUMNS, totals)))
        return self.judge

    # --- the commit -------------------------------------------------------------------------------
    def trailers(self) -> dict[str, str]:
        runner = self.runner_model
        if runner and self.runner_version:
            runner = f"{runner}@{self.runner_version}"
        return {
            "Experiment": exp_tag(self.number), "Status": self.status, "Lever": self.lever,
            "Lever-Claimed": self.lever_claimed or "none", "Operator": self.operator, "Gate": self.gate or "none",
            "Quality": _fmt(self.quality) or "none", "Delta": _fmt(self.delta, signed=True) or "none",
            "Ruler": self.ruler_id or "none", "Judge": self.judge_id or "none", "Runner-Model": runner or "none",
            "Parent": exp_tag(self.parent) if self.parent is not None else "none",
            "Judge-Cost": f"{self.judge.cost_usd:.4f}" if self.judge is not None else "none",
            "Worker": self.worker or "none",
        }

    def body(self) -> str:
        result = [f"Result: {self.status} — {self.reason or ''}"]
        if self.quality is not None and self.gate is not None and self.wins is not None:
            dims = ", ".join(f"{k} {v:.2f}" for k, v in (self.dims or {}).items())
            result.append(f"Quality {self.quality:.4f} on the {self.gate} gate "
                          f"(W/T/L {self.wins}/{self.ties}/{self.losses}; {dims}).")
        if self.lever_claimed is not None and self.lever_claimed != self.lever:
            result.append(f"The agent claimed lever {self.lever_claimed}; the committed workspace uses {self.lever}.")
        return (f"Hypothesis:\n{(self.hypothesis or '(none stated)').strip()}\n\n"
                f"Method:\n{(self.method or '(none stated)').strip()}\n\n" + "\n".join(result))

    def message(self) -> str:
        from loop.daemon.experiments import headline

        return commit_message(self.number, headline(self.hypothesis), self.body(), self.trailers())

    # --- the notification -------------------------------------------------------------------------
    def notice(self, new_best: bool) -> Notice | None:
        if new_best:
            head = (self.hypothesis or "").strip().splitlines()
            return Notice(kind="new_best", message=f"Experiment {self.number:04d} is the new best: quality "
                          f"{self.quality:.4f} ({self.delta:+.4f}) — {head[0] if head else ''}",
                          payload={"experiment": self.number, "quality": self.quality, "delta": self.delta})
        if self.status == "invalid":
            return Notice(kind="invalid", message=f"Experiment {self.number:04d} is invalid: {self.reason}",
                          payload={"experiment": self.number, "reason": self.reason})
        return None


def _fmt(value, signed=False) -> str | None:
    if value is None:
        return None
    return f"{value:+.4f}" if signed else f"{value:.4f}"
