"""The daemon: lock, recovery, watchers, the iteration loop, stop policies, signals, status line.

`Daemon(config, options).run()` returns a `RunSummary`. One iteration at a time; an experiment a
stop interrupted (left resumable by the last run) is resumed first, under its own number; a dropped
adapter is served before the agent's next experiment. Stop policies (`stopping.py`, checked after
each iteration): dollar budget of this run (under `shared_limits`, one total for every worker on the
record, reserved before each experiment: shared_budget.py), max experiments, N consecutive invalid/crashed, a
plateau under `plateau_policy = "halt"`, `--until` passing; plus a tampered ruler and a stop signal.
Outside the run window the scheduler sleeps until it opens again. Between iterations the record is
maintained (`loop/db/maintenance.py`: cache eviction, trace compaction, vacuum) and the judge is checked
for drift when due (`drift.py`: each window opening, every `drift_check_every` iterations).
SIGTERM/SIGINT: a running evaluation stops before its next case, the experiment is suspended (its
finished cases stay cached) and resumes on the next start; a second signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.agents.base import Agent, make_agent
from loop.daemon.guard import RulerTampered
from loop.daemon.iteration import LOST, Iteration, IterationResult
from loop.daemon.lock import DaemonLock
from loop.daemon.logfile import setup_logging
from loop.daemon.recording import send
from loop.daemon.recovery import recover, recover_claims, resumable
from loop.daemon.resources import Resources
from loop.daemon.drift import DriftSchedule
from loop.daemon.scheduler import Clock, IterationScheduler, SystemClock, Window, until_moment
from loop.daemon.stopping import (Budget, FailuresInARow, MaxExperiments, Plateau, RunState, StopKind, StopReason,
                                  Until, first_stop, once_failure, signal_stop, tamper_stop)
from loop.daemon.status import StatusLine
from loop.daemon.watchers import Watchers
from loop.daemon.workers import Heartbeat, WorkerIdentity, register, unregister

log = logging.getLogger("loop.daemon")


class RunOptions(BaseModel):
    once: bool = False
    max_experiments: int | None = None  # overrides config.max_experiments
    until: str | None = None  # HH:MM
    live: bool = True  # the Rich status line
    watch: bool = True  # ruler and adapter-inbox observers
    handle_signals: bool = True


@dataclass
class RunSummary:
    results: list[IterationResult] = field(default_factory=list)
    stop: StopReason | None = None
    recovered: list[str] = field(default_factory=list)

    @property
    def halt_reason(self) -> str | None:
        return self.stop.message if self.stop else None

    @property
    def experiments(self) -> int:
        return sum(1 for r in self.results if not r.baseline and r.status not in (SUSPENDED, LOST))


SUSPENDED = "suspended"  # IterationResult.status of an experiment a stop interrupted (it resumes next start)
MAINTENANCE_EVERY = 20  # iterations between two maintenance passes (also once at start)


class Daemon:
    def __init__(self, config: Config, options: RunOptions | None = None, *, agent: Agent | None = None,
                 resources: Resources | None = None, clock: Clock | None = None):
        self.config, self.options = config, options or RunOptions()
        self.clock = clock or SystemClock()
        self.agent = agent
        self.resources = resources
        self.summary = RunSummary()
        self.stop_event = threading.Event()
        self.stop: StopReason | None = None
        self.window = Window.parse(config.window) if config.window else None
        self.drift = DriftSchedule(config.drift_check_every, self.window)
        self.deadline = until_moment(self.options.until, self.clock.now()) if self.options.until else None
        self.policies = self._policies()
        self.to_resume: list[int] = []
        self.iterations = 0
        self.status = StatusLine(enabled=self.options.live)
        self.spent_usd, self.consecutive_failures, self.since_best = 0.0, 0, 0
        self._signals = 0
        self.busy = False
        self.budget = None  # the record's budget shared by every worker (shared_budget.py), under shared_limits
        self.shared_spent_usd = 0.0  # its total as of this worker's last reserve or settle

    # --- stop requests --------------------------------------------------------------------------
    @property
    def halt_reason(self) -> str | None:
        return self.stop.message if self.stop else None

    def request_stop(self, reason: StopReason) -> None:
        if self.stop is None:
            self.stop = reason
        self.stop_event.set()

    def should_stop(self) -> StopReason | None:
        """Why the daemon is stopping (truthy), or None."""
        return (self.stop or signal_stop("a stop request")) if self.stop_event.is_set() else None

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals > 1:
            log.warning("second %s: exiting now; the next start recovers the interrupted experiment", name)
            os._exit(130)
        log.info("%s received: stopping before the next case or step; the experiment resumes next start", name)
        self.request_stop(signal_stop(name))

    def _on_tamper(self, problems: list[str]) -> None:
        reason = tamper_stop("; ".join(problems))
        log.error(reason.message)
        self.request_stop(reason)

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        logfile = setup_logging(self.config.repo, max_bytes=self.config.log_max_bytes,
                                backups=self.config.log_backups)
        me = self.resources.worker if self.resources else WorkerIdentity.current(self.config.worker)
        with DaemonLock(self.config.repo, me.name):
            log.info("daemon started (worker %s, pid %s, repo %s, log %s)", me.name, os.getpid(), self.config.repo,
                     logfile)
            from loop.db.session import upgrade

            upgrade(self.config)
            register(self.config, me)
            try:
                with Heartbeat(self.config, me, self._on_name_lost):
                    self._run(me)
            finally:
                unregister(self.config, me)
            log.info("daemon stopped: %s (%d experiments this run)", self.halt_reason or "done",
                     self.summary.experiments)
        return self.summary

    def _run(self, me: WorkerIdentity) -> None:
        owns_resources = self.resources is None
        self.resources = self.resources or Resources(self.config, worker=me)
        self.me = me
        self.agent = self.agent or make_agent(self.config)
        if self.config.shared_limits:
            from loop.daemon.shared_budget import SharedBudget

            self.budget = SharedBudget(self.config, me)
            self.shared_spent_usd = self.budget.open()
        self.summary.recovered = recover(self.config, self.resources.git, me)
        self.to_resume = resumable(self.config, me)
        self._maintain()
        self.resources.git.ensure_research_branch()
        watchers = Watchers(self.config.repo, self.config.ruler_dir, self._on_tamper) if self.options.watch else None
        previous = self._install_signals()
        try:
            if watchers:
                watchers.start()
            self.inbox = watchers.inbox if watchers else None
            if self.inbox:  # a dropped .fmadapter is checked against the system model the runner reports
                self.inbox.runner_signature = lambda: self.resources.runner.probe().base_model_signature
            with self.status:
                self._loop()
        finally:
            if watchers:
                watchers.stop()
            self._restore_signals(previous)
            if owns_resources:
                self.resources.close()
        self.summary.stop = self.stop
        if self.stop is not None and self.stop.notifies:
            send(self.config, "halt", f"The loop halted: {self.stop.message}",
                 {"reason": self.stop.message, "kind": self.stop.kind.value})

    def _on_name_lost(self, message: str) -> None:
        log.error(message)
        self.request_stop(StopReason(StopKind.CANNOT_RUN, message))

    def _recover_others(self) -> None:
        """Between iterations: claims that workers which died meanwhile left, and released suspensions."""
        try:
            self.summary.recovered += recover_claims(self.config, self.resources.git, self.me)
            self.to_resume = sorted(set(self.to_resume) | set(resumable(self.config, self.me)))
        except Exception as exc:  # recovery of others' claims must never end this worker's night
            log.warning("recovering other workers' claims failed: %s: %s", type(exc).__name__, exc)

    def _loop(self) -> None:
        if self.options.once:
            self._one()
            if self.summary.results and self.summary.results[-1].baseline and not self.should_stop():
                self._one()  # --once means one experiment: the baseline measurement does not count
            self.request_stop(self.stop or StopReason(StopKind.ONCE, "--once: one experiment done"))
            return
        finished = threading.Event()

        def job() -> None:
            try:
                self._one()
            finally:
                finished.set()

        scheduler = IterationScheduler(job, self.config.interval_s, self.window, self.clock)
        self._announce(scheduler.start())
        try:
            while not self.stop_event.is_set():
                if finished.wait(0.25):
                    finished.clear()
                    if self._check_stop_conditions():
                        break
                    self._announce(scheduler.rearm())
                self.status.refresh()
                if not self.busy:
                    self._check_clock()
        finally:
            scheduler.shutdown()

    def _announce(self, when: datetime) -> None:
        if self.window is not None and not self.window.contains(self.clock.now()):
            log.info("outside the run window %s: sleeping until %s", self.window, f"{when:%Y-%m-%d %H:%M}")

    def _one(self) -> None:
        if self.should_stop():
            return
        self.iterations += 1
        if self.iterations % MAINTENANCE_EVERY == 0:
            self._maintain()
        self._check_drift()
        if self.iterations > 1:
            self._recover_others()
        resume = self.to_resume.pop(0) if self.to_resume else None
        adapter = self.inbox.next_ready() if self.inbox and resume is None else None
        if adapter is not None:
            from loop.daemon.agents.adapter import AdapterRegistration

            registration = AdapterRegistration(adapter)
            iteration = Iteration(self.resources, registration, should_stop=self.should_stop,
                                  on_step=self.status.step, operator="interactive", waiter=self._waiter())
        else:
            iteration = Iteration(self.resources, self.agent, should_stop=self.should_stop, on_step=self.status.step,
                                  waiter=self._waiter())
        if not self._reserve():
            return
        self.busy = True
        try:
            result = iteration.run() if resume is None else iteration.resume(resume)
        except RulerTampered as exc:
            self._settle(0.0)
            self._on_tamper([str(exc)])
            return
        except Exception as exc:  # outside any experiment (judge, record, git unusable): counts as a failure
            log.exception("iteration failed before an experiment could start")
            self._settle(0.0)
            self.consecutive_failures += 1
            if self.options.once or self.consecutive_failures >= self.config.max_consecutive_failures:
                self.request_stop(StopReason(StopKind.CANNOT_RUN,
                                             f"cannot run an experiment: {type(exc).__name__}: {exc}"))
            return
        finally:
            self.busy = False
        if adapter is not None:  # an adapter that answers a training request: the request is answered
            from loop.training.closing import answer_after_daemon_run

            answer_after_daemon_run(self.config, registration, result)
        self.summary.results.append(result)
        self._account(result)
        if result.ruler_tampered:
            self.request_stop(tamper_stop(result.reason))
        elif result.remote_rejected:
            self.request_stop(StopReason(StopKind.CANNOT_RUN, f"experiment {result.number:04d}: {result.reason}"))
        elif self.options.once:
            reason = once_failure(result)
            if reason is not None:
                self.request_stop(reason)

    def _waiter(self):
        """How this run treats an unreachable judge or agent API: wait (with backoff) unless it is `--once`."""
        from loop.daemon.waiting import Waiter

        return Waiter(self.config, patient=not self.options.once, should_stop=self.should_stop,
                           on_wait=self.status.waiting)

    def _reserve(self) -> bool:
        """The shared budget holds this worker's next experiment (else the night's budget is spent)."""
        if self.budget is None:
            return True
        reservation = self.budget.reserve()
        self.shared_spent_usd = reservation.spent_usd
        if not reservation.granted:
            self.request_stop(StopReason(StopKind.BUDGET, reservation.message))
        return reservation.granted

    def _settle(self, usd: float) -> None:
        if self.budget is not None:
            self.shared_spent_usd = self.budget.settle(usd)

    def _account(self, result: IterationResult) -> None:
        self.spent_usd += result.agent_cost_usd + result.judge_cost_usd  # budget_usd counts both bills
        self._settle(result.agent_cost_usd + result.judge_cost_usd)
        if result.status in (SUSPENDED, LOST):
            return
        failed = result.status in ("invalid", "crashed") and not result.reason.startswith(("stopped by", "abandoned"))
        self.consecutive_failures = self.consecutive_failures + 1 if failed else 0
        if result.baseline:
            return
        self.since_best = 0 if result.new_best else self.since_best + 1
        best = experiments.best(self.config)
        self.status.best(best.quality if best else None)

    # --- stop policies -------------------------------------------------------------------------
    def _policies(self) -> list:
        c = self.config
        limit = self.options.max_experiments or c.max_experiments
        policies = [Budget(c.budget_usd)]
        if limit is not None:
            policies.append(MaxExperiments(limit))
        policies += [FailuresInARow(c.max_consecutive_failures), Plateau(c.plateau, c.plateau_policy, self._on_plateau)]
        if self.deadline is not None:
            policies.append(Until(self.deadline, self.options.until or ""))
        return policies

    def run_state(self) -> RunState:
        spent = self.spent_usd if self.budget is None else self.shared_spent_usd  # every worker's, when shared
        return RunState(now=self.clock.now(), spent_usd=spent, experiments=self.summary.experiments,
                        consecutive_failures=self.consecutive_failures, since_best=self.since_best)

    def _check_stop_conditions(self) -> bool:
        reason = first_stop(self.policies, self.run_state())
        if reason is not None:
            self.request_stop(reason)
            return True
        return False

    def _check_clock(self) -> bool:
        """`--until` between iterations (the running experiment finishes first)."""
        for policy in self.policies:
            if isinstance(policy, Until):
                reason = policy.check(self.run_state())
                if reason is not None:
                    self.request_stop(reason)
                    return True
        return False

    def _on_plateau(self, state: RunState) -> None:
        from loop.daemon.plateau import on_plateau

        on_plateau(self.config, self.agent, state.since_best)

    def _maintain(self) -> None:
        from loop.db.maintenance import maintain

        try:
            for line in maintain(self.config).lines():
                log.info("maintenance: %s", line)
        except Exception as exc:  # upkeep must never end the night
            log.warning("maintenance failed: %s: %s", type(exc).__name__, exc)

    def _check_drift(self) -> None:
        """The judge drift check when due (each window opening, every `drift_check_every` iterations)."""
        from loop.daemon.drift import check_drift

        due = self.drift.due(self.clock.now())
        if due is None or self.should_stop():
            return
        try:
            if check_drift(self.resources, due) is None:
                return  # nothing to re-judge yet: still due
        except Exception as exc:  # a drift check must never end the night
            log.warning("judge drift check failed: %s: %s", type(exc).__name__, exc)
        self.drift.checked(self.clock.now())

    # --- signals --------------------------------------------------------------------------------
    def _install_signals(self):
        if not self.options.handle_signals or threading.current_thread() is not threading.main_thread():
            return None
        return {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    @staticmethod
    def _restore_signals(previous) -> None:
        for sig, handler in (previous or {}).items():
            signal.signal(sig, handler)

