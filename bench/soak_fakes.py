"""Fast fakes for the soak (bench_soak.py): an agent, a judge, a runner and a pipeline session, with
faults injected on a schedule keyed by the experiment number the agent is working on.

An outage is a stretch, not a property of an experiment: it starts with the first call of experiment
N and lasts a number of failed calls (`Stretch`), then the service answers again, as a real outage
ends. (Keyed by the experiment alone, the daemon would rightly wait forever: the experiment it waits
in never changes.) A malformed reply is malformed once: the retry of that case gets a valid one.

Never in the product package: they stand in for the model and the judge so 300 iterations take
minutes, while everything else (daemon, scheduler, iteration, guard, git record, keep rule,
recording, recovery) is the real code.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loop.runners.protocol import Backend
from loop.sandbox.session import PipelineResult
from loop.schemas import Answer, CaseJudgement, DimScores
from ruler.scoring import combine_verdicts

TRIAL_FILE = "soak_trial.txt"
DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest(), 16)


@dataclass
class Stretch:
    """An outage from the first call made for experiment `start` on, for `calls` failed calls."""

    start: int
    calls: int
    failed: int = 0

    def hit(self, number: int) -> bool:
        """Whether this call fails (and counts it)."""
        if number >= self.start and self.failed < self.calls:
            self.failed += 1
            return True
        return False


@dataclass
class FaultPlan:
    """Which fault is active when: outage stretches, and ranges of experiment numbers (inclusive)."""

    judge_500: Stretch = field(default_factory=lambda: Stretch(40, 160))  # HTTP 500 after the client's retries
    judge_unreachable: Stretch = field(default_factory=lambda: Stretch(80, 160))  # connection refused
    agent_api_down: Stretch = field(default_factory=lambda: Stretch(100, 3))  # the agent's API answers 529
    malformed: range = range(120, 130)  # one judge reply in three is malformed (once per case and answer)
    runner_killed: range = range(160, 170)  # the runner dies in the middle of one case per evaluation
    sigterm_at: int = 200  # SIGTERM this process in the middle of that experiment's re-score
    current: int = 0  # the experiment the agent last worked on (the baseline is 0)
    sigterm_sent: bool = False
    sigterm_time: float | None = None  # time.perf_counter() when the SIGTERM was sent
    faults_seen: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, name: str) -> None:
        with self.lock:
            self.faults_seen[name] = self.faults_seen.get(name, 0) + 1

    @classmethod
    def for_night(cls, total: int) -> "FaultPlan":
        """The 300-iteration schedule, scaled to a shorter night so that every fault still happens."""
        if total >= 300:
            return cls()

        def at(n: int) -> int:
            return max(2, round(n * total / 300))

        return cls(judge_500=Stretch(at(40), 160), judge_unreachable=Stretch(at(80), 160),
                   agent_api_down=Stretch(at(100), 3), malformed=range(at(120), at(120) + 2),
                   runner_killed=range(at(160), at(160) + 2), sigterm_at=at(200))


class SoakAgent:
    """Writes a unique trial id into the workspace (a new pipeline hash each time) and states it."""

    name = "soak"

    def __init__(self, plan: FaultPlan, on_iteration=None):
        self.plan, self.on_iteration = plan, on_iteration
        self.runs: list[int] = []  # experiment numbers the agent completed (a resume must not run it again)
        self.api_failures: list[int] = []  # experiment numbers of attempts the agent's API refused
        self.broadened = 0

    def run(self, ctx):
        from loop.daemon.agents.base import AgentOutcome

        self.plan.current = ctx.number
        if self.plan.agent_api_down.hit(ctx.number):
            self.plan.seen("agent_api_529")
            self.api_failures.append(ctx.number)
            return AgentOutcome(error="server_error: API Error: 529 overloaded", stop_reason="error",
                                api_unavailable="server_error: API Error: 529 overloaded")
        self.runs.append(ctx.number)
        if self.on_iteration is not None:
            self.on_iteration(ctx.number)
        trial = f"trial-{ctx.number}-{_seed(str(ctx.number)) % 10**8:08d}"
        (ctx.workspace / TRIAL_FILE).write_text(trial + "\n")
        ctx.services.record_hypothesis(f"soak {trial}", "a fake trial: a new workspace hash", "inference")
        return AgentOutcome(hypothesis=f"soak {trial}", cost_usd=0.0, stop_reason="done")

    def broaden(self, reason: str) -> None:
        self.broadened += 1


class SoakRunner:
    def probe(self) -> Backend:
        return Backend(name="mock", model="soak-fake", model_version="1", available=True)

    def close(self) -> None:
        pass


class SoakSession:
    """A pipeline session answering from a hash of (trial, task); the runner-killed fault breaks one case."""

    mode = "none"  # the confinement evaluations record: a stand-in runs in-process, unconfined

    def __init__(self, workspace: Path, plan: FaultPlan):
        marker = Path(workspace) / TRIAL_FILE
        self.trial = marker.read_text().strip() if marker.exists() else "baseline"
        self.plan, self.cases = plan, 0

    def run_case(self, task: str) -> PipelineResult:
        self.cases += 1
        number = self.plan.current
        if number == self.plan.sigterm_at and self.cases == 3 and not self.plan.sigterm_sent:
            self.plan.sigterm_sent = True
            self.plan.sigterm_time = time.perf_counter()
            self.plan.seen("sigterm")
            os.kill(os.getpid(), signal.SIGTERM)
        if number in self.plan.runner_killed and self.cases == 2:
            self.plan.seen("runner_killed")
            return PipelineResult(answer=None, error="runner killed mid-case: the runner process exited (SIGKILL)",
                                  trace=[], deterministic=True, model_calls=1, latency_ms=1.0)
        seed = _seed(self.trial, task)
        questions = [f"Question {i} about {task[:30]} ({seed >> i & 0xff})?" for i in range(7)]
        answer = Answer(title=f"{task[:40]} ({seed % 97})", questions=questions)
        return PipelineResult(answer=answer, error=None, trace=[{"kind": "model", "step": "answer", "latency_ms": 1.0,
                                                                  "prompt": task, "reply": answer.title}],
                              deterministic=True, model_calls=1, latency_ms=1.0)


def session_factory(plan: FaultPlan):
    @contextmanager
    def open_session(workspace: Path):
        yield SoakSession(workspace, plan)

    return open_session


class SoakJudge:
    """Deterministic scores from a hash of the candidate; judge faults by experiment number."""

    judge_id = "fake:soak/1"
    mode = "standard"

    def __init__(self, plan: FaultPlan):
        self.plan = plan
        self.calls = 0
        self.malformed_once: set[int] = set()  # (case, answer) seeds already given a malformed reply

    def judge(self, case, candidate) -> CaseJudgement:
        number = self.plan.current
        with self.plan.lock:
            self.calls += 1
            unreachable = self.plan.judge_unreachable.hit(number)
            http_500 = not unreachable and self.plan.judge_500.hit(number)
        if unreachable:
            self.plan.seen("judge_unreachable")
            raise ConnectionError("judge unreachable: connection refused")
        if http_500:
            self.plan.seen("judge_500")
            return _error("HTTP 500 from the judge after 4 retries")
        seed = _seed(case.id, *candidate.questions)
        with self.plan.lock:
            malformed = number in self.plan.malformed and seed % 3 == 0 and seed not in self.malformed_once
            if malformed:
                self.malformed_once.add(seed)
        if malformed:
            self.plan.seen("malformed")
            return _error("malformed judge reply: not the verdict JSON")
        first, second = ("candidate", "tie", "gold")[seed % 3], ("candidate", "tie", "gold")[(seed >> 3) % 3]
        dims = DimScores(**{d: 1 + (seed >> (5 + i * 3)) % 5 for i, d in enumerate(DIMS)})
        return CaseJudgement(dims=dims, verdict_candidate_first=first, verdict_gold_first=second,
                             verdict=combine_verdicts(first, second), failure_notes="soak", judge_calls=2)


def _error(message: str) -> CaseJudgement:
    return CaseJudgement(dims=None, verdict_candidate_first=None, verdict_gold_first=None, verdict=None,
                         error=message, judge_calls=2)
