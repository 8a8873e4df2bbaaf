"""The research agent interface: what the daemon gives an agent, and what an agent hands back.

One agent run = one experiment: the agent gets a fresh git worktree of the current best commit
(`AgentContext.worktree`), forms ONE hypothesis, edits `agent_workspace/` there, may score it with
`services.evaluate(gate)`, states its hypothesis and method (`services.record_hypothesis`), and
returns an `AgentOutcome`. The daemon then verifies and re-scores the worktree itself: the number
an agent claims is recorded but never trusted.

Implementations: `SweepAgent` (Optuna over the pipeline knobs, offline) and `ClaudeAgent`
(Claude Code through claude-agent-sdk, in `loop/daemon/agents/claude.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from loop.config import Config
from loop.daemon.agents.prompt import PromptInputs
from loop.daemon.experiments import WorstCase
from loop.daemon.requests import RequestView
from loop.supervisor.store import NoteView

Lever = Literal["inference", "sft", "orpo", "dpo"]


@runtime_checkable
class AgentServices(Protocol):
    """Daemon services an agent may call while it works (exposed to Claude as MCP tools)."""

    def evaluate(self, gate: str) -> dict:
        """Score the worktree's pipeline on 'dev' or 'full'. Returns a dict with `quality`, `dims`,
        `wins`/`ties`/`losses`, `scored_cases`, `judge_errors` and `worst_cases` (case id, task, the
        case's score and the judge's failure notes). Never contains gold text."""
        ...

    def record_hypothesis(self, hypothesis: str, method: str, lever: Lever = "inference") -> None:
        """Store the experiment's hypothesis (first line = headline), method and lever."""
        ...

    def request_manual_training(self, recipe: str, rationale: str, evidence: str) -> int:
        """Raise a manual-training request (`sft` or `orpo`) for a human; returns its id."""
        ...

    def experiment_log(self, n: int = 20) -> str:
        """The last `n` experiments as markdown (number, status, quality, delta, headline)."""
        ...

    def run_task(self, task_id: str) -> dict:
        """Run the worktree's pipeline on training-pool task `task_id`: `answer`, `error`, `trace`,
        `model_calls`, `latency_ms`; `{"error": ...}` for a ruler, holdout or unknown id. Never gold."""
        ...


class AgentContext(BaseModel):
    """Everything an agent needs for one experiment."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    number: int  # the experiment number
    worktree: Path  # git worktree root; the agent edits only `<worktree>/agent_workspace/`
    config: Config
    services: Any  # an AgentServices
    ruler_id: str  # the ruler every score of this run is measured under
    recent_log: str = ""  # markdown: the last experiments (what was tried, what it gave)
    failure_notes: list[str] = Field(default_factory=list)  # incumbent's worst cases, judge's notes (no gold)
    worst_cases: list[WorstCase] = Field(default_factory=list)  # the same cases with the incumbent's own answers
    best_quality: float | None = None  # the incumbent's full-gate quality
    best_dev_quality: float | None = None  # the incumbent's quality on the dev gate's cases
    steering: list[NoteView] = Field(default_factory=list)  # the supervisor's active notes (their focus too)
    training_requests: list[RequestView] = Field(default_factory=list)  # open and answered (manual track)
    should_stop: Callable[[], object] = lambda: None  # truthy (the reason) once the daemon was asked to stop

    @property
    def workspace(self) -> Path:
        return self.worktree / "agent_workspace"

    @property
    def focus(self) -> list[str]:
        """The lever families the supervisor's active notes focus on (empty: no restriction)."""
        return sorted({name for note in self.steering for name in note.focus})

    def prompt_inputs(self) -> PromptInputs:
        return PromptInputs(number=self.number, recent_log=self.recent_log, worst_cases=self.worst_cases,
                            failure_notes=self.failure_notes, best_quality=self.best_quality, steering=self.steering,
                            training_requests=self.training_requests)


class AgentOutcome(BaseModel):
    """What the agent reports back. Unknown figures stay None."""

    hypothesis: str = ""
    method: str = ""
    lever: Lever | None = None  # the lever the agent CLAIMS (the daemon derives the recorded one)
    claimed_quality: float | None = None  # the agent's own number (recorded, never trusted)
    cost_usd: float | None = None
    turns: int | None = None
    tokens: dict[str, int] = Field(default_factory=dict)  # input/output/cache_read/cache_creation
    duration_s: float | None = None
    denials: list[str] = Field(default_factory=list)  # tool calls refused by the access hook
    error: str | None = None  # set when the agent failed; the experiment is then recorded as crashed
    api_unavailable: str | None = None  # its model API unreachable/overloaded/rate-limited: the daemon waits
    stop_reason: str | None = None  # e.g. "done", "max_turns", "time_cap", "budget_cap", "stopped"


@runtime_checkable
class Agent(Protocol):
    name: str

    def run(self, ctx: AgentContext) -> AgentOutcome: ...


def report_result(agent: Agent, number: int, dev_quality: float | None, status: str) -> None:
    """Tell an agent how its experiment ended, when it wants to know (the sweep feeds Optuna): its
    status and its DEV-GATE quality (None when it has none: crashed, invalid, judging failed), one
    objective on one gate for every experiment, whichever gate decided it."""
    hook = getattr(agent, "on_result", None)
    if hook is not None:
        hook(number, dev_quality, status)


def make_agent(config: Config) -> Agent:
    """The agent named by `config.resolved_agent` ('sweep' or 'claude')."""
    name = config.resolved_agent
    if name == "sweep":
        from loop.daemon.agents.sweep import SweepAgent

        return SweepAgent(config)
    if name == "claude":
        from loop.daemon.agents.claude import ClaudeAgent  # lazy: pulls in claude-agent-sdk

        return ClaudeAgent(config)
    raise ValueError(f"unknown agent {name!r}: expected 'sweep' or 'claude'")
