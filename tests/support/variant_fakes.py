"""The fast fake parts of the daemon tests that turn on one marker file: an agent that drops
`agent_workspace/variant.txt`, and a pipeline stand-in whose answers say whether the marker is there
(`VARIANT: <task>` or `BASE: <task>`), so a scripted judge can grade the candidate apart from the incumbent."""

from __future__ import annotations

from pathlib import Path

from loop.daemon.agents.base import AgentOutcome
from loop.runners.replay_server import generic_answer
from loop.sandbox.session import PipelineResult
from loop.schemas import Answer

HYPOTHESIS = "scripted: the variant answers"


class VariantSession:
    """Stands in for the sandboxed pipeline: the answer depends only on the workspace's variant marker."""

    mode = "none"  # the confinement evaluations record: a stand-in runs in-process, unconfined

    def __init__(self, workspace):
        self.variant = (Path(workspace) / "variant.txt").exists()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def run_case(self, task):
        answer = generic_answer(task)
        answer["title"] = f"{'VARIANT' if self.variant else 'BASE'}: {task}"
        return PipelineResult(answer=Answer(**answer), error=None, trace=[], deterministic=True, model_calls=1,
                              latency_ms=1.0)


class VariantAgent:
    """Drops the variant marker; optionally scores it with the daemon's `evaluate` service first."""

    name = "scripted"

    def __init__(self, evaluate_gate: str | None = None):
        self.evaluate_gate, self.seen = evaluate_gate, None

    def run(self, ctx) -> AgentOutcome:
        (ctx.workspace / "variant.txt").write_text("use the variant answers\n")
        if self.evaluate_gate:
            self.seen = ctx.services.evaluate(self.evaluate_gate)
        ctx.services.record_hypothesis(HYPOTHESIS, "drop variant.txt", "inference")
        return AgentOutcome(hypothesis=HYPOTHESIS, cost_usd=0.0, turns=1)
