"""What one iteration hands back: a stop request (raised), the step outcome (`StepResult`) and the
iteration's result for the run loop (`IterationResult`). Kept apart from the state machine in
`iteration.py`, which re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field


class StopRequested(Exception):
    def __init__(self, step: str, reason: str = "stopped by signal", resume_step: str | None = None,
                 unreachable: str | None = None, waiting_for: str = "the judge"):
        super().__init__(step)
        self.step, self.reason, self.resume_step = step, reason, resume_step
        self.unreachable = unreachable  # set when a run that does not wait (--once) met an unreachable service
        self.waiting_for = waiting_for  # which service: "the judge" or "the agent's API"

    def describe(self) -> str:
        if self.unreachable:
            return f"stopped waiting for {self.waiting_for} in step {self.step}: {self.unreachable}"
        if self.reason.startswith("stopped by"):
            return f"stopped by signal in step {self.step}"
        return f"abandoned in step {self.step}: {self.reason}"


@dataclass
class IterationResult:
    number: int
    status: str
    reason: str
    quality: float | None = None
    delta: float | None = None
    baseline: bool = False
    agent_cost_usd: float = 0.0
    judge_cost_usd: float = 0.0  # judge dollars this run spent on the experiment (its evaluations)
    new_best: bool = False
    ruler_tampered: bool = False
    remote_rejected: bool = False  # the research remote refused a push: the run halts (loop/daemon/remote.py)
    durations: dict[str, float] = field(default_factory=dict)
    unreachable: str | None = None  # suspended because a service was unreachable and the run does not wait
    waiting_for: str | None = None  # that service: "the judge" or "the agent's API"


@dataclass
class StepResult:
    """Where a step left the experiment: a final status (or `pending` before the keep rule) and why.
    (Not the judge's `loop.schemas.Verdict`, the candidate/tie/gold of one case.)"""

    status: str
    reason: str
    gate: str | None = None
    report: object | None = None  # the last official EvaluationReport
    quality: float | None = None
    delta: float | None = None
