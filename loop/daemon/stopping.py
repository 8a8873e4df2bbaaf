"""Why the daemon stops: small policy objects, each answering with a typed `StopReason` or None.

After each iteration the run loop builds a `RunState` and asks its policies in order; the first
reason wins. Stops that come from outside the loop (a signal, ruler tampering, `--once`, an
iteration that cannot start) are `StopReason`s too, so nothing downstream matches strings.

The run window is not a stop condition: outside it the scheduler sleeps until it opens again.
A plateau stops the night only under `plateau_policy = "halt"`; under `"continue"` (the default)
it files one training request when none is open, asks the agent to explore more broadly, and
goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Callable, Protocol, Sequence

from loop.errors import AgentApiUnavailable


class StopKind(str, Enum):
    BUDGET = "budget"
    MAX_EXPERIMENTS = "max_experiments"
    FAILURES = "failures_in_a_row"
    PLATEAU = "plateau"
    UNTIL = "until"
    SIGNAL = "signal"
    TAMPER = "tamper"
    ONCE = "once"
    CANNOT_RUN = "cannot_run"
    JUDGE_UNREACHABLE = "judge_unreachable"  # --once: the judge stayed unreachable after the retries
    AGENT_API_UNREACHABLE = "agent_api_unreachable"  # --once: the agent's model API stayed unreachable
    CRASHED = "crashed"  # --once: the experiment crashed (e.g. an infrastructure error)


QUIET = (StopKind.SIGNAL, StopKind.ONCE)  # a person asked for these: no "halt" notification


@dataclass(frozen=True)
class StopReason:
    kind: StopKind
    message: str

    @property
    def notifies(self) -> bool:
        """Whether the stop is news (a halt the person did not ask for)."""
        return self.kind not in QUIET

    def __str__(self) -> str:
        return self.message


@dataclass
class RunState:
    """What the policies look at, after an iteration."""

    now: datetime
    spent_usd: float = 0.0  # agent + judge dollars of this run
    experiments: int = 0  # this run's experiments (the baseline and suspended ones do not count)
    consecutive_failures: int = 0
    since_best: int = 0  # experiments since the last new best


class StopPolicy(Protocol):
    def check(self, state: RunState) -> StopReason | None: ...


@dataclass
class Budget:
    """This run's dollars: the agent's and the judge's (every evaluation, cache reads priced in)."""

    limit_usd: float

    def check(self, state: RunState) -> StopReason | None:
        if state.spent_usd >= self.limit_usd:
            return StopReason(StopKind.BUDGET, f"budget spent: ${state.spent_usd:.2f} of ${self.limit_usd:.2f}")
        return None


@dataclass
class MaxExperiments:
    limit: int

    def check(self, state: RunState) -> StopReason | None:
        if state.experiments >= self.limit:
            return StopReason(StopKind.MAX_EXPERIMENTS, f"max experiments reached ({self.limit})")
        return None


@dataclass
class FailuresInARow:
    limit: int

    def check(self, state: RunState) -> StopReason | None:
        if state.consecutive_failures >= self.limit:
            return StopReason(StopKind.FAILURES, f"{state.consecutive_failures} invalid or crashed experiments in a row")
        return None


@dataclass
class Plateau:
    """`limit` experiments without a new best. `halt` stops; `continue` calls `on_plateau` once per stretch."""

    limit: int
    mode: str = "continue"  # "halt" | "continue"
    on_plateau: Callable[[RunState], None] | None = None
    _acted_at: int | None = None  # since_best when `on_plateau` last ran

    def check(self, state: RunState) -> StopReason | None:
        if self._acted_at is not None and state.since_best < self._acted_at:
            self._acted_at = None  # a new best came since: the next plateau is a new one
        if state.since_best < self.limit:
            return None
        if self.mode == "halt":
            return StopReason(StopKind.PLATEAU, f"plateau: {state.since_best} experiments without a new best")
        if self._acted_at is None or state.since_best >= self._acted_at + self.limit:
            self._acted_at = state.since_best
            if self.on_plateau is not None:
                self.on_plateau(state)
        return None


@dataclass
class Until:
    deadline: datetime
    text: str

    def check(self, state: RunState) -> StopReason | None:
        if state.now >= self.deadline:
            return StopReason(StopKind.UNTIL, f"--until {self.text} reached")
        return None


def first_stop(policies: Sequence[StopPolicy], state: RunState) -> StopReason | None:
    for policy in policies:
        reason = policy.check(state)
        if reason is not None:
            return reason
    return None


def signal_stop(name: str) -> StopReason:
    return StopReason(StopKind.SIGNAL, f"stopped by {name}")


def tamper_stop(detail: str) -> StopReason:
    return StopReason(StopKind.TAMPER, f"ruler tampering detected, halting: {detail}")


def once_failure(result) -> StopReason | None:
    """Why `run --once` (given its `IterationResult`) must exit non-zero after `result`: an unreachable judge or agent API, or a crash."""
    if result.unreachable:
        agent_api = result.waiting_for == AgentApiUnavailable.service
        kind = StopKind.AGENT_API_UNREACHABLE if agent_api else StopKind.JUDGE_UNREACHABLE
        return StopReason(kind, f"{result.unreachable} — experiment {result.number:04d} "
                          "suspended, no quality recorded; it resumes on the next start")
    if result.status == "crashed":
        return StopReason(StopKind.CRASHED, f"experiment {result.number:04d} crashed: {result.reason}")
    return None
