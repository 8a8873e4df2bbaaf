"""The `agent` step of an iteration: the research agent runs once in the experiment's worktree.

When the agent's model API is unreachable, overloaded or rate-limiting (the agent reports it as
`AgentOutcome.api_unavailable`, see loop/daemon/agents/claude.py), no experiment happened: it is not
`crashed` and counts nothing toward the failure halt. The step raises `AgentApiUnavailable` and the
iteration's waiter (loop/daemon/waiting.py) waits with backoff, "waiting for the agent's API since
HH:MM (n tries)", then runs the agent again under the same experiment number, in a fresh worktree
of the parent commit and with the claims of the failed attempt cleared. A run that does not wait
(`run --once`), or a stop while waiting, suspends the experiment with `resume_step = "agent"`: the
next start runs its agent step again. The agent's own failures (its code raising, a malformed
result, an API error that is not an outage) stay `AgentOutcome.error`: the experiment is `crashed`.
"""

from __future__ import annotations

import logging
import traceback

from loop.adapters.pointer import derived_lever
from loop.daemon import experiments
from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.outcomes import StopRequested
from loop.daemon.services import DaemonServices
from loop.daemon.waiting import WaitAbandoned
from loop.errors import AgentApiUnavailable
from loop.supervisor import context as supervisor_context
from loop.supervisor.store import deliver

log = logging.getLogger("loop.daemon")


def agent_step(it) -> AgentOutcome:
    """Run `it.agent` through `it.waiter`: an unreachable agent API is waited out, never a crash."""
    attempts: list[AgentOutcome] = []

    def attempt() -> AgentOutcome:
        if attempts:  # a retry starts from what the experiment was given, not from a half-done attempt
            fresh_worktree(it)
        outcome = run_agent(it)
        attempts.append(outcome)
        if outcome.api_unavailable:
            raise AgentApiUnavailable(outcome.api_unavailable)
        return outcome

    try:
        outcome = it.waiter.call(attempt, "the agent step")
    except WaitAbandoned as abandoned:
        raise StopRequested(it.step, abandoned.reason, "agent", unreachable=abandoned.unreachable,
                            waiting_for=abandoned.outage.what) from None
    spent = [a.cost_usd for a in attempts if a.cost_usd is not None]
    if len(attempts) > 1 and spent:  # the failed attempts' dollars count toward the budget too
        outcome.cost_usd = round(sum(spent), 6)
        it.record.agent_cost_usd = outcome.cost_usd
        it.record.save(it.config)
    return outcome


def fresh_worktree(it) -> None:
    """The experiment's worktree anew from its parent commit; the failed attempt's claims cleared."""
    it.git.remove_worktree(it.number)
    it.worktree = it.git.create_worktree(it.number, it.parent_commit)
    experiments.update(it.config, it.number, hypothesis=None, method=None, lever_claimed=None)


def run_agent(it) -> AgentOutcome:
    if it.baseline:
        return AgentOutcome(hypothesis=it.record.hypothesis or "", stop_reason="baseline")
    it.services = DaemonServices(it.config, it.number, it.worktree, it.res)
    inputs = supervisor_context.gather(it.config, it.number, it.incumbent)  # as `autoresearch prompt`
    ctx = AgentContext(number=it.number, worktree=it.worktree, config=it.config, services=it.services,
                       ruler_id=it.rid, recent_log=inputs.recent_log, worst_cases=inputs.worst_cases,
                       failure_notes=inputs.failure_notes, best_quality=inputs.best_quality,
                       steering=inputs.steering, training_requests=inputs.training_requests,
                       best_dev_quality=experiments.dev_gate_quality(it.config, it.incumbent),
                       should_stop=it.should_stop)
    if getattr(it.agent, "steered", True):  # a dropped adapter's evaluation reads no note: not counted
        deliver(it.config, inputs.steering, it.number)  # counts toward each note's expiry (once per number)
    try:
        outcome = it.agent.run(ctx)
    except Exception as exc:
        log.error("experiment %04d: agent raised\n%s", it.number, traceback.format_exc())
        outcome = AgentOutcome(error=f"agent raised {type(exc).__name__}: {exc}")
    row, r = experiments.get(it.config, it.number), it.record
    r.hypothesis, r.method = row.hypothesis or outcome.hypothesis or None, row.method or outcome.method or None
    # the lever is what the committed workspace uses; what the agent said is kept beside it
    r.lever, r.lever_claimed = derived_lever(it.worktree / "agent_workspace"), row.lever_claimed or outcome.lever
    r.agent_cost_usd, r.agent_turns, r.agent_claimed_quality = outcome.cost_usd, outcome.turns, outcome.claimed_quality
    r.agent_tokens, r.agent_denials = outcome.tokens or None, outcome.denials or None
    r.save(it.config)
    return outcome
