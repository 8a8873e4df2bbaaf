"""The daemon's services for one experiment's agent (the `AgentServices` implementation).

An agent's own evaluations are recorded as kind "agent" (never the official record) and only on the
'dev' and 'full' gates: the holdout stays sealed. What comes back has no gold text: figures, and the
judge's failure notes of the worst cases (phrased without quoting the gold). `run_task` runs the
worktree's pipeline on one training-pool task (never a ruler or holdout one) and returns its answer and
trace, judged by nobody and recorded nowhere.
"""

from __future__ import annotations

import logging
from pathlib import Path

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.keep import scores_from_outcomes

log = logging.getLogger(__name__)
AGENT_GATES = ("dev", "full")
LEVERS = ("inference", "sft", "orpo", "dpo")
WORST_CASES = 5


class DaemonServices:
    def __init__(self, config: Config, number: int, worktree: Path, resources):
        self.config, self.number, self.worktree, self.resources = config, number, Path(worktree), resources
        self.evaluations = 0

    def evaluate(self, gate: str) -> dict:
        if gate not in AGENT_GATES:
            return {"error": f"gate must be one of {AGENT_GATES} (the holdout is sealed)"}
        from loop.errors import InfrastructureError, JudgeUnavailable

        try:
            report = self.resources.evaluate(gate, self.worktree / "agent_workspace", kind="agent",
                                             experiment_number=self.number)
        except (JudgeUnavailable, InfrastructureError) as exc:  # no score at all, never a partial one
            return {"error": f"{exc}; nothing was scored, try again later"}
        self.evaluations += 1
        scores = scores_from_outcomes(report.outcomes)
        by_id = {o.case_id: o for o in report.outcomes}
        worst = sorted(scores, key=scores.get)[:WORST_CASES]
        s = report.summary
        return {
            "gate": gate, "quality": round(s.quality, 4), "pairwise": round(s.pairwise, 4),
            "rubric": round(s.rubric, 4), "dims": {k: round(v, 3) for k, v in s.dims.items()},
            "wins": s.wins, "ties": s.ties, "losses": s.losses, "scored_cases": s.scored_cases,
            "judge_errors": s.judge_errors,
            "invalid_cases": [{"case_id": o.case_id, "reason": o.invalid_reason} for o in report.outcomes
                              if o.invalid_reason],
            "worst_cases": [{
                "case_id": cid, "task": by_id[cid].task, "score": round(scores[cid], 3),
                "verdict": by_id[cid].judgement.verdict if by_id[cid].judgement else None,
                "failure_notes": by_id[cid].judgement.failure_notes if by_id[cid].judgement else "",
            } for cid in worst],
        }

    def record_hypothesis(self, hypothesis: str, method: str, lever: str = "inference") -> None:
        if lever not in LEVERS:
            raise ValueError(f"lever must be one of {LEVERS}")
        # the agent's claim; the recorded `lever` is derived from the committed workspace (derived_lever)
        experiments.update(self.config, self.number, hypothesis=hypothesis.strip(), method=method.strip(),
                           lever_claimed=lever)

    def request_manual_training(self, recipe: str, rationale: str, evidence: str) -> int:
        from loop.daemon.requests import create_request

        return create_request(self.config, recipe, rationale, evidence, experiment_number=self.number)

    def experiment_log(self, n: int = 20) -> str:
        return experiments.log_markdown(self.config, max(1, min(int(n), 200)))

    def run_task(self, task_id: str) -> dict:
        """The worktree's pipeline on one training-pool task (loop/daemon/pool_task.py): its answer and
        trace, or `{"error": ...}` for a ruler, holdout or unknown id (nothing run)."""
        from loop.daemon.pool_task import TaskRefused, run_pool_task

        try:
            return run_pool_task(self.config, self.resources, self.worktree / "agent_workspace", task_id).model_dump()
        except TaskRefused as exc:
            return {"error": str(exc)}
