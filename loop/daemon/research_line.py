"""One research line shared by several workers through the research remote (loop/daemon/remote.py).

An experiment branches from the remote's research tip as of its claim (`Resources.research_tip`).
At decision time (`catch_up`, before the keep rule) the tip is fetched again; if another worker kept
something meanwhile, the candidate's change to `agent_workspace/` is rebased onto the new tip:

- a clean rebase is exported, checked by the guard and re-scored as it now stands (dev gate, then
  full gate), then decided against the new incumbent (its parent and parent commit become the new
  tip's);
- a conflicting one ends as `superseded`, committed on its original parent and kept under
  `refs/experiments/NNNN` (on the remote too), never lost.

A kept experiment advances the remote's branch by compare-and-swap (`publish`); when that fails
because the tip moved between the decision and the push, the experiment is decided again
(`catch_up` once more) and the push retried. A baseline or a daemon measurement that loses the race
is `superseded` (the other worker's commit is the line's tip now). Every experiment's final commit is
pushed under `refs/experiments/NNNN`.
"""

from __future__ import annotations

import logging

from loop.daemon import committed, experiments, guard
from loop.daemon.outcomes import StepResult

log = logging.getLogger("loop.daemon")

SUPERSEDED = "superseded"


def catch_up(it, verdict: StepResult) -> StepResult:
    """`verdict` (pending the keep rule) as it stands against the research tip of now."""
    remote = it.res.remote
    if remote is None or it.baseline or it.measure is not None:
        return verdict
    tip = remote.sync()
    if tip == it.parent_commit:
        return verdict
    return _rebase_onto(it, verdict, tip)


def _rebase_onto(it, verdict: StepResult, tip: str) -> StepResult:
    number, old = it.number, it.parent_commit
    incumbent = experiments.incumbent(it.config, it.rid, tip)
    if incumbent is None:
        return _superseded(verdict, f"the research tip moved to {tip[:10]}, which has no incumbent under this ruler")
    moved = f"another worker kept experiment {incumbent.number:04d} ({tip[:10]}) meanwhile"
    rebased = it.res.remote.rebase(it.snapshot, old, tip, f"exp {number:04d}: in progress, rebased\n")
    if rebased.commit is None:
        return _superseded(verdict, f"{moved}; this change to agent_workspace/ conflicts with it in "
                           + ", ".join(rebased.conflicts))
    log.info("experiment %04d: %s; rebased from %s onto it, re-scoring", number, moved, old[:10])
    it.git._git("reset", "--hard", "--quiet", rebased.commit, cwd=it.worktree)
    it.parent_commit, it.incumbent, it.snapshot = tip, incumbent, rebased.commit
    it.record.parent, it.record.parent_commit = incumbent.number, tip
    it.rebased_onto = incumbent.number
    experiments.update(it.config, number, parent=incumbent.number, parent_commit=tip)
    it.committed = committed.export_experiment(it.git, number, rebased.commit, it.worktree)
    findings = committed.check(it.config, it.committed, it.worktree, it.res.embedder)
    if findings:
        return StepResult("invalid", "gold text in the rebased workspace: " + guard.describe(findings))
    return it.rescore()


def _superseded(verdict: StepResult, reason: str) -> StepResult:
    return StepResult(SUPERSEDED, reason, verdict.gate, verdict.report, verdict.quality, verdict.delta)


def commit_and_publish(it, verdict: StepResult) -> tuple[StepResult, str]:
    """The experiment's final commit (in step `commit`), with a research remote pushed: a kept one
    advances the remote's branch by compare-and-swap, re-decided until it lands or is not kept."""
    remote = it.res.remote
    while True:
        r = it.record
        if it.rebased_onto is not None and not verdict.reason.startswith("rebased"):
            verdict.reason = f"rebased onto experiment {it.rebased_onto:04d}: {verdict.reason}"
        r.status, r.reason, r.gate, r.quality, r.delta = (verdict.status, verdict.reason, verdict.gate,
                                                          verdict.quality, verdict.delta)
        r.ruler_id, r.judge_id = it.rid, it.res.judge.judge_id
        if verdict.report is not None:
            r.with_report(verdict.report)
        r.sum_judge(it.config)  # every evaluation is done: the holdout's and the confirmation's too
        commit = it.git.commit_worktree(it.worktree, it.number, it.parent_commit, r.message())
        it.git.keep_under_experiments(it.number, commit)
        if remote is None:
            return verdict, commit
        advancing = verdict.status == "kept" and (it.measure is None or it.measure.advances_research)
        if advancing and not remote.advance(commit, it.parent_commit):
            if it.baseline or it.measure is not None:
                verdict = _superseded(verdict, "another worker's experiment became the research tip first")
            else:
                it.enter("decide")
                verdict = it.decide(StepResult("pending", "", verdict.gate, verdict.report, verdict.quality,
                                               verdict.delta))
                it.enter("commit")
            continue
        remote.publish(it.number, commit)
        return verdict, commit


def publish_salvaged(it) -> None:
    """An abandoned experiment's kept commit, pushed too (a failing remote is logged, not raised:
    the experiment is already ending for its own reason)."""
    commit = it.git.experiment_ref(it.number)
    if it.res.remote is None or commit is None:
        return
    try:
        it.res.remote.publish(it.number, commit)
    except Exception as exc:
        log.error("experiment %04d: not pushed to the research remote: %s", it.number, exc)
