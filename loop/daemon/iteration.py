"""One iteration of the loop, as a state machine whose every step is written to the record first.

claimed → worktree → agent → verify → rescore → decide → commit → record → cleanup → notify → done

- Each step's name is stored in `Experiment.step` in its own transaction BEFORE the work, so a
  daemon killed anywhere leaves a row saying where (see `recovery.py`).
- A stop request (SIGTERM/SIGINT) is honoured at the boundaries up to `decide`, and by a running
  evaluation or re-judging round between two cases (in `rescore` and in `decide`). Once the agent's
  work is verified (a stop in or after `rescore`), the experiment is suspended: it stays `running`
  with `resume_step`, and the next start resumes it under the same number (`resume`): evaluations its
  first run recorded are read back, not recorded twice; unfinished ones take their finished cases from
  the caches; its confirmation round is the same round (recorded, or the draws made before the stop,
  see rejudge.py), never a fresh one. Earlier it is abandoned as `crashed` ("stopped by signal in step
  X"), whatever it produced kept under refs/experiments/NNNN. From `commit` on, the few fast remaining
  steps always finish.
- The agent step waits out an unreachable agent API like an unreachable judge (agent_step.py): not a
  crash, no failure count, the agent run again under the same number (`resume_step = "agent"` when a
  stop or `--once` ends the wait).
- With no incumbent under the current ruler, the iteration measures the research tip as a
  `baseline` experiment (full gate, kept) instead of running an agent.
- Before an agent iteration, a runner whose model line differs from the incumbent's opens a new
  line (`lines.open_new_line`: the stock baseline and the best re-scored as `Measure`s).
- The experiment's facts live in ONE typed `ExperimentRecord` (record.py), filled step by step and
  written whole: the row, the commit message and trailers, the notification all come from it.
  `lever` is derived from the committed workspace; the agent's claim is `lever_claimed`.
- `decide` uses only official verdicts (never the agent's), confirms a keep on fresh draws
  (`keep.decide_confirmed`, the re-judging service), and on every new incumbent (the baseline too)
  re-measures the noise floor and scores the sealed holdout (`holdout.judge_holdout`).
"""

from __future__ import annotations

import logging
import time
import traceback

from loop.daemon import committed, experiments, guard, lines, research_line
from loop.daemon.agent_step import agent_step
from loop.daemon.agents.base import Agent, AgentOutcome, report_result
from loop.daemon.holdout import judge_holdout
from loop.daemon.keep import decide_confirmed, make_policy, scores_from_outcomes
from loop.daemon.lines import Measure
from loop.daemon.record import ExperimentRecord
from loop.daemon.outcomes import IterationResult, StepResult, StopRequested  # re-exported for runloop
from loop.daemon.noise import incumbent_noise_floor, measure_noise_floor, stored_noise_floor
from loop.daemon.rejudge import Rejudger, recorded_evaluation, stored_report
from loop.daemon.remote import RemoteRejected
from loop.daemon.waiting import Waiter, WaitAbandoned
from loop.db.models import utcnow
from loop.errors import InfrastructureError
from loop.model_line import ModelIdentity

log = logging.getLogger("loop.daemon")


class Iteration:
    """Runs one experiment end to end. `agent=None` means the baseline measurement."""

    def __init__(self, resources, agent: Agent | None, *, should_stop=lambda: False, on_step=lambda n, s: None,
                 operator: str = "autonomous", measure: Measure | None = None, waiter: Waiter | None = None):
        self.res, self.config, self.git = resources, resources.config, resources.git
        self.agent, self.should_stop, self.on_step, self.operator = agent, should_stop, on_step, operator
        self.waiter = waiter or Waiter(self.config, should_stop=should_stop)  # an unreachable judge or API: wait
        self.measure = measure  # a measurement the daemon runs itself (a new model line's re-scores)
        self.step: str | None = None
        self.step_started = time.perf_counter()
        self.durations: dict[str, float] = {}
        self.record: ExperimentRecord | None = None  # the one typed record of the experiment (record.py)
        self.judge_spent_before = 0.0  # judge dollars already counted for a resumed experiment
        self.resumed = False  # a resumed experiment reuses what its first run recorded (`_evaluation`)
        self.rebased_onto: int | None = None  # the incumbent a moved research tip rebased it onto (research_line.py)

    # --- step bookkeeping -----------------------------------------------------------------------
    def enter(self, step: str) -> None:
        now = time.perf_counter()
        if self.step is not None:
            self.durations[self.step] = round(self.durations.get(self.step, 0.0) + now - self.step_started, 4)
            reason = self.should_stop() if self.step in STOPPABLE else None
            if reason:
                raise StopRequested(self.step, str(reason), RESUME_AT.get((self.step, step)))
        experiments.enter_step(self.config, self.number, step)
        self.step, self.step_started = step, now
        self.on_step(self.number, step)
        log.info("experiment %04d: %s", self.number, step)

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> IterationResult:
        guard.require_intact_ruler(self.config.ruler_dir, "before the experiment")
        self.rid = self.res.ruler_id()
        self.parent_commit = self.measure.commit if self.measure else self.res.research_tip()  # fetched from a remote
        self.incumbent = experiments.incumbent(self.config, self.rid, self.parent_commit)
        if self.measure is None and self.agent is not None:
            change = lines.detect(self.res, self.incumbent)
            if change is not None:  # never compare across a model change: re-score, then research on
                return lines.open_new_line(self.res, change, self.rid, self.parent_commit, self._measurement)
        baseline = self.incumbent is None or self.agent is None or self.measure is not None
        self.baseline = baseline
        m = self.measure
        self.number = experiments.claim(
            self.config, worker=self.res.worker.name, parent=None if baseline else self.incumbent.number, parent_commit=self.parent_commit,
            operator=self.operator, agent=m.agent if m else "baseline" if baseline else self.agent.name,
            lever="inference", ruler_id=None, judge_id=self.res.judge.judge_id,
            hypothesis=m.hypothesis if m else "baseline: the research branch tip as it stands" if baseline else None,
            method=m.method if m else ("Measured on the full gate without changes, to be the incumbent every "
                                       "experiment is compared with under this ruler." if baseline else None))
        self.record = ExperimentRecord.load(self.config, self.number)
        self.step, self.step_started = "claimed", time.perf_counter()
        self.on_step(self.number, "claimed")
        log.info("experiment %04d: claimed (%s, parent commit %s)", self.number,
                 "baseline" if baseline else f"agent {self.agent.name}", self.parent_commit[:10])
        return self._guarded(self._run)

    def resume(self, number: int) -> IterationResult:
        """Continue experiment `number`, suspended by a stop, from its `resume_step` (see recovery.py)."""
        from loop.daemon.recovery import reopen_worktree

        from loop.daemon.leases import take_over

        row = experiments.get(self.config, number)
        self.number, step = number, row.resume_step
        self.baseline = row.agent == "baseline"
        if not take_over(self.config, row, worker=self.res.worker.name):  # a claim, as for a new number
            return IterationResult(number, LOST, "another worker resumed it first", baseline=self.baseline)
        row = experiments.get(self.config, number)  # now held by this worker
        self.rid, self.parent_commit, self.baseline = self.res.ruler_id(), row.parent_commit, row.agent == "baseline"
        self.incumbent = None if self.baseline else experiments.incumbent(self.config, self.rid, self.parent_commit)
        self.record = ExperimentRecord.from_row(row)
        self.judge_spent_before = self.record.judge.cost_usd if self.record.judge else 0.0
        self.durations, self.step, self.resumed = dict(row.durations or {}), None, True
        log.info("experiment %04d: resuming from step %s", number, step)
        try:
            if step not in ("agent", "rescore") or (self.incumbent is None and not self.baseline):
                raise LookupError(f"cannot resume from step {step} (its incumbent is gone)")
            if step == "agent":  # the agent's API was unreachable: its step runs again, from the parent commit
                self.git.remove_worktree(number)
                self.worktree = self.git.create_worktree(number, self.parent_commit)
                experiments.update(self.config, number, resume_step=None, reason=None)
                self.record.reason = None
                return self._guarded(self._from_agent)
            self.worktree = reopen_worktree(self.config, self.git, number)
            self.record.reason = None  # the suspension note, cleared with the resume mark
            self.snapshot = self.git.experiment_ref(number)
            self.committed = committed.export_experiment(self.git, number, self.snapshot, self.worktree)
        except Exception as exc:
            return self.abandon(f"could not resume from step {step}: {exc}")

        def rest() -> IterationResult:
            self.enter("rescore")
            verdict = self.decide_after(self.rescore())
            return self.finish(verdict, AgentOutcome(hypothesis=self.record.hypothesis or ""))

        return self._guarded(rest)

    def _guarded(self, body) -> IterationResult:
        from loop.evaluate import EvaluationStopped

        try:
            try:
                return body()
            except EvaluationStopped as stopped:  # between two cases of a running evaluation or re-judging
                raise StopRequested(self.step, stopped.reason, "rescore" if self.step in RESUMABLE else None)
        except experiments.LeaseLost as lost:  # another worker closed it: write nothing more to it
            log.error("experiment %04d: %s", self.number, lost)
            return IterationResult(self.number, LOST, str(lost), baseline=self.baseline, durations=self.durations)
        except StopRequested as stop:
            resumable = stop.resume_step == "agent" or getattr(self, "snapshot", None)
            if stop.resume_step and "tamper" not in stop.reason and resumable:
                result = self.suspend(stop)
                if stop.unreachable:
                    result.unreachable, result.waiting_for = stop.unreachable, stop.waiting_for
                return result
            return self.abandon(stop.describe(), status="invalid" if "tamper" in stop.reason else "crashed")
        except RemoteRejected as exc:  # the shared remote refuses pushes: this experiment stays local, the run halts
            self.record.status = "running"  # never kept: the shared line did not move (the decision stays recorded)
            result = self.abandon(f"{exc}; its commit is kept here under refs/experiments/{self.number:04d}")
            result.remote_rejected = True
            return result
        except InfrastructureError as exc:  # the product's machinery failed: crashed, never scored
            log.error("experiment %04d: infrastructure error in step %s: %s", self.number, self.step, exc)
            return self.abandon(f"infrastructure error in step {self.step}: {exc}")
        except guard.RulerTampered as exc:
            result = self.abandon(str(exc), status="invalid")
            result.ruler_tampered = True
            return result
        except Exception as exc:
            log.error("experiment %04d: error in step %s\n%s", self.number, self.step, traceback.format_exc())
            return self.abandon(f"error in step {self.step}: {type(exc).__name__}: {exc}")

    def _run(self) -> IterationResult:
        self.enter("worktree")
        self.worktree = self.git.create_worktree(self.number, self.parent_commit)
        return self._from_agent()

    def _from_agent(self) -> IterationResult:
        self.enter("agent")
        outcome = agent_step(self)  # an unreachable agent API is waited out (agent_step.py)
        self.enter("verify")
        verdict = self.verify(outcome)
        if verdict is None:
            self.enter("rescore")
            verdict = self.rescore()
        return self.finish(self.decide_after(verdict), outcome)

    def decide_after(self, verdict: StepResult) -> StepResult:
        self.enter("decide")
        return self.decide(verdict)

    def _measurement(self, measure: Measure) -> "Iteration":
        return Iteration(self.res, None, should_stop=self.should_stop, on_step=self.on_step, measure=measure,
                         waiter=self.waiter)

    def _judged(self, fn, what: str):
        """A judged step through the waiter: an unreachable judge is waited for (or, in a run that does
        not wait, the experiment is suspended), never scored. Resumes from `rescore`, whose finished
        cases come from the caches."""
        try:
            return self.waiter.call(fn, what)
        except WaitAbandoned as abandoned:
            raise StopRequested(self.step, abandoned.reason, "rescore", unreachable=abandoned.unreachable,
                                waiting_for=abandoned.outage.what) from None

    def verify(self, outcome: AgentOutcome) -> StepResult | None:
        """The daemon's own checks; a StepResult means the experiment ends here (crashed or invalid)."""
        guard.require_intact_ruler(self.config.ruler_dir, "after the agent ran")
        self.snapshot = self.git.commit_worktree(self.worktree, self.number, self.parent_commit,
                                                 f"exp {self.number:04d}: in progress\n")
        if outcome.error:
            return StepResult("crashed", f"agent failed: {outcome.error}")
        changed = self.git.changed_paths(self.parent_commit, self.snapshot)
        outside = guard.outside_workspace(changed)
        if outside:
            return StepResult("invalid", "the diff touches files outside agent_workspace/: " + ", ".join(outside))
        self.committed = committed.export_experiment(self.git, self.number, self.snapshot, self.worktree)
        findings = committed.check(self.config, self.committed, self.worktree, self.res.embedder)
        if findings:
            return StepResult("invalid", "gold text in the workspace: " + guard.describe(findings))
        return None

    def _evaluation(self, gate: str, kind: str = "official"):
        """The commit's clean export scored on `gate` (never the live worktree, loop/daemon/committed.py); a
        resumed experiment reads back what its first run recorded instead of recording it twice."""
        done = recorded_evaluation(self.config, self.number, kind, gate=gate, ruler_id=self.rid) if self.resumed else None
        if done is not None:
            return stored_report(self.config, done)
        return self._judged(lambda: self.res.evaluate(gate, self.committed.workspace, kind=kind,
                                                      experiment_number=self.number, should_stop=self.should_stop),
                            f"the {gate} gate")

    def _score(self, gate: str):
        report = self._evaluation(gate)
        leaks = guard.leaked_outputs(report.outcomes)
        return report, leaks

    def rescore(self) -> StepResult:
        """Dev gate first; the full gate when within reach of the incumbent (always for a baseline)."""
        if self.baseline:
            report, leaks = self._score("full")
            if leaks:
                return StepResult("invalid", guard.describe(leaks), "full", report, report.summary.quality)
            return StepResult("kept", f"baseline: first full-gate measurement under ruler {self.rid[:12]}", "full",
                           report, report.summary.quality)
        dev, leaks = self._score("dev")
        if leaks:
            return StepResult("invalid", guard.describe(leaks), "dev", dev, dev.summary.quality)
        inc_dev = [self.incumbent.scores[o.case_id] for o in dev.outcomes if o.case_id in self.incumbent.scores]
        inc_dev_quality = sum(inc_dev) / len(inc_dev) if inc_dev else self.incumbent.quality
        dev_quality = dev.summary.quality
        if dev_quality < inc_dev_quality - self.config.full_gate_margin:
            return StepResult("discarded", f"dev gate: quality {dev_quality:.3f} is below the incumbent's "
                           f"{inc_dev_quality:.3f} on the same cases minus the margin {self.config.full_gate_margin}",
                           "dev", dev, dev_quality, dev_quality - inc_dev_quality)
        full, leaks = self._score("full")
        if leaks:
            return StepResult("invalid", guard.describe(leaks), "full", full, full.summary.quality)
        return StepResult("pending", "", "full", full, full.summary.quality, full.summary.quality - self.incumbent.quality)

    def decide(self, verdict: StepResult) -> StepResult:
        if verdict.report is not None:
            identity = ModelIdentity.of(verdict.report.backend)
            experiments.update(self.config, self.number, model_line=identity.line_key(),
                               model_identity=identity.model_dump())
        if verdict.status == "pending":  # another worker kept something meanwhile: rebased, re-scored
            verdict = research_line.catch_up(self, verdict)
        if verdict.status == "pending":
            self.keep_decision(verdict)
        if verdict.status == "kept":
            self.on_new_incumbent(verdict)
        return verdict

    def keep_decision(self, verdict: StepResult) -> None:
        """The keep rule on the official scores, confirmed on fresh draws; both rounds recorded."""
        rejudger = Rejudger(self.config, self.res.judge)
        floor = self._judged(lambda: incumbent_noise_floor(rejudger, self.rid, self.incumbent.number,
                                                           self.incumbent.evaluation_id, self.should_stop),
                             "the noise floor")
        policy = make_policy(self.config, floor, seed=self.number)
        confirm_policy = make_policy(self.config, floor, seed=self.number + 1_000_003)
        decision = decide_confirmed(
            policy, scores_from_outcomes(verdict.report.outcomes), self.incumbent.scores,
            lambda: self._judged(lambda: rejudger.confirm_round(verdict.report, self.incumbent.evaluation_id,
                                                                self.incumbent.number, self.number, self.should_stop),
                                 "the confirmation round"),
            noise_floor=floor, confidence=self.config.keep_confidence, confirm_policy=confirm_policy)
        experiments.update(self.config, self.number, decision=decision.model_dump(mode="json"))
        verdict.status = "kept" if decision.keep else "discarded"
        verdict.reason = decision.reason

    def on_new_incumbent(self, verdict: StepResult) -> None:
        """A new incumbent (the baseline too): its noise floor, then the sealed holdout's verdict."""
        line = ModelIdentity.of(verdict.report.backend).line_key()
        floor = stored_noise_floor(self.config, self.rid, line, self.number) if self.resumed else None
        if floor is None:
            floor = self._judged(lambda: measure_noise_floor(Rejudger(self.config, self.res.judge), verdict.report,
                                                             self.number, self.should_stop), "the noise floor")
        # the holdout too scores the commit's clean export, never files the worktree holds outside it
        holdout = self._evaluation("holdout", kind="holdout")
        judge_holdout(self.config, holdout, number=self.number, ruler_id=self.rid, ruler_quality=verdict.quality,
                      model_line=line, previous=None if self.baseline else self.incumbent.number,
                      noise_floor=floor, is_baseline=self.baseline and (self.measure is None or self.measure.line_baseline))

    # --- the end --------------------------------------------------------------------------------
    def finish(self, verdict: StepResult, outcome: AgentOutcome) -> IterationResult:
        from loop.daemon.recording import notify_record

        self.enter("commit")
        verdict, commit = research_line.commit_and_publish(self, verdict)  # with a remote: CAS, re-decided
        r = self.record
        self.enter("record")
        r.commit, r.branch, r.finished_at = commit, self.git.exp_branch(self.number), utcnow()
        r.diff, r.durations = self.git.diff_text(self.parent_commit, commit), self.durations
        r.save(self.config)
        self.enter("cleanup")
        if verdict.status == "kept" and (self.measure is None or self.measure.advances_research):
            self.git.advance_research(commit, self.parent_commit)
        self.git.remove_worktree(self.number)
        if not self.baseline:  # the sweep's objective: the dev gate only (see SweepAgent.on_result)
            report_result(self.agent, self.number, experiments.dev_quality(self.config, self.number), verdict.status)
        self.enter("notify")
        new_best = verdict.status == "kept" and not self.baseline
        notify_record(self.config, r, new_best)
        self.enter("done")
        experiments.update(self.config, self.number, durations=self.durations)
        log.info("experiment %04d: %s — %s", self.number, verdict.status, verdict.reason)
        return IterationResult(self.number, verdict.status, verdict.reason, verdict.quality, verdict.delta,
                               self.baseline, outcome.cost_usd or 0.0, self._judge_spent(), new_best,
                               durations=self.durations)

    def _judge_spent(self) -> float:
        """Judge dollars of this experiment not yet counted by an earlier run (a resumed one's)."""
        return max(0.0, (self.record.judge.cost_usd if self.record.judge else 0.0) - self.judge_spent_before)

    def _save_partial(self) -> None:
        """The record as far as it got, with the judge's bill so far (before a suspend or an abandon)."""
        self.record.durations = self.durations
        self.record.sum_judge(self.config)
        self.record.save(self.config)

    def suspend(self, stop: StopRequested) -> IterationResult:
        """Leave the experiment resumable from `stop.resume_step` (it stays `running`)."""
        from loop.daemon.recovery import suspend_experiment

        self.durations[self.step] = round(self.durations.get(self.step, 0.0) + time.perf_counter() - self.step_started, 4)
        reason = stop.describe()
        self._save_partial()
        suspend_experiment(self.config, self.git, self.number, stop.resume_step, getattr(self, "snapshot", None),
                           reason, self.durations)
        log.warning("experiment %04d: suspended — %s; resumes from step %s on restart", self.number, reason,
                    stop.resume_step)
        return IterationResult(self.number, "suspended", reason, baseline=self.baseline,
                               judge_cost_usd=self._judge_spent(), durations=self.durations)

    def abandon(self, reason: str, status: str = "crashed") -> IterationResult:
        """End the experiment early: keep what it produced under refs/experiments, clean the worktree."""
        from loop.daemon.recovery import close_experiment

        if self.step is not None:
            self.durations[self.step] = round(self.durations.get(self.step, 0.0)
                                              + time.perf_counter() - self.step_started, 4)
        self._save_partial()
        close_experiment(self.config, self.git, self.number, status, reason)
        research_line.publish_salvaged(self)
        if not self.baseline and self.agent is not None:
            report_result(self.agent, self.number, None, status)
        log.warning("experiment %04d: %s — %s", self.number, status, reason)
        return IterationResult(self.number, status, reason, baseline=self.baseline,
                               judge_cost_usd=self._judge_spent(), durations=self.durations)


LOST = "lost"  # IterationResult.status when another worker recovered the experiment meanwhile
STOPPABLE = ("claimed", "worktree", "agent", "verify", "rescore")
RESUMABLE = ("rescore", "decide")  # a stop inside these (an evaluation, a re-judging round) resumes at rescore
RESUME_AT = {("verify", "rescore"): "rescore", ("rescore", "decide"): "rescore"}  # (left, entered) -> resume step
