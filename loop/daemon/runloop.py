"""The daemon: lock, recovery, watchers, the iteration loop, stop conditions, signals, status line.

`Daemon(config, options).run()` returns a `RunSummary`. One iteration at a time; a dropped adapter
is served before the agent's next experiment. Stop conditions (checked after each iteration):
dollar budget of this run, max experiments, N consecutive invalid/crashed, plateau (N experiments
without a new best), the run window closing or `--until` passing, a tampered ruler, a stop signal.
SIGTERM/SIGINT: the current step finishes (or the experiment is abandoned as crashed at the next
step boundary); a second signal exits at once (the next start recovers).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.agents.base import Agent, make_agent
from loop.daemon.guard import RulerTampered
from loop.daemon.iteration import Iteration, IterationResult
from loop.daemon.lock import DaemonLock
from loop.daemon.logfile import setup_logging
from loop.daemon.recording import send
from loop.daemon.recovery import recover
from loop.daemon.resources import Resources
from loop.daemon.scheduler import IterationScheduler, Window, until_moment
from loop.daemon.status import StatusLine
from loop.daemon.watchers import Watchers

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
    halt_reason: str | None = None
    recovered: list[str] = field(default_factory=list)

    @property
    def experiments(self) -> int:
        return sum(1 for r in self.results if not r.baseline)


class Daemon:
    def __init__(self, config: Config, options: RunOptions | None = None, *, agent: Agent | None = None,
                 resources: Resources | None = None):
        self.config, self.options = config, options or RunOptions()
        self.agent = agent
        self.resources = resources
        self.summary = RunSummary()
        self.stop_event = threading.Event()
        self.halt_reason: str | None = None
        self.window = Window.parse(config.window) if config.window else None
        self.deadline = until_moment(self.options.until) if self.options.until else None
        self.status = StatusLine(enabled=self.options.live)
        self.spent_usd, self.consecutive_failures, self.since_best = 0.0, 0, 0
        self._signals = 0
        self.busy = False

    # --- stop requests --------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if self.halt_reason is None:
            self.halt_reason = reason
        self.stop_event.set()

    def should_stop(self) -> str | None:
        """Why the daemon is stopping (truthy), or None."""
        return (self.halt_reason or "stop requested") if self.stop_event.is_set() else None

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals > 1:
            log.warning("second %s: exiting now; the next start recovers the interrupted experiment", name)
            os._exit(130)
        log.info("%s received: finishing the current step, then stopping", name)
        self.request_stop(f"stopped by {name}")

    def _on_tamper(self, problems: list[str]) -> None:
        message = "ruler tampering detected, halting: " + "; ".join(problems)
        log.error(message)
        self.request_stop(message)

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        logfile = setup_logging(self.config.repo)
        with DaemonLock(self.config.repo):
            log.info("daemon started (pid %s, repo %s, log %s)", os.getpid(), self.config.repo, logfile)
            from loop.db.session import upgrade

            upgrade(self.config)
            owns_resources = self.resources is None
            self.resources = self.resources or Resources(self.config)
            self.agent = self.agent or make_agent(self.config)
            self.summary.recovered = recover(self.config, self.resources.git)
            self.resources.git.ensure_research_branch()
            watchers = Watchers(self.config.repo, self.config.ruler_dir, self._on_tamper) if self.options.watch else None
            previous = self._install_signals()
            try:
                if watchers:
                    watchers.start()
                self.inbox = watchers.inbox if watchers else None
                with self.status:
                    self._loop()
            finally:
                if watchers:
                    watchers.stop()
                self._restore_signals(previous)
                if owns_resources:
                    self.resources.close()
            self.summary.halt_reason = self.halt_reason
            if self.halt_reason and not self.halt_reason.startswith(("stopped by", "--once")):
                send(self.config, "halt", f"The loop halted: {self.halt_reason}", {"reason": self.halt_reason})
            log.info("daemon stopped: %s (%d experiments this run)", self.halt_reason or "done",
                     self.summary.experiments)
        return self.summary

    def _loop(self) -> None:
        if self.options.once:
            self._one()
            if self.summary.results and self.summary.results[-1].baseline and not self.should_stop():
                self._one()  # --once means one experiment: the baseline measurement does not count
            self.request_stop(self.halt_reason or "--once: one experiment done")
            return
        finished = threading.Event()

        def job() -> None:
            try:
                self._one()
            finally:
                finished.set()

        scheduler = IterationScheduler(job, self.config.interval_s, self.window)
        first = scheduler.start()
        if first > datetime.now():
            log.info("outside the run window %s: first experiment at %s", self.window, f"{first:%Y-%m-%d %H:%M}")
        try:
            while not self.stop_event.is_set():
                if finished.wait(0.25):
                    finished.clear()
                    if self._check_stop_conditions():
                        break
                    scheduler.rearm()
                self.status.refresh()
                if not self.busy:
                    self._check_clock()  # a window closing lets the running experiment finish
        finally:
            scheduler.shutdown()

    def _one(self) -> None:
        if self.should_stop():
            return
        adapter = self.inbox.next_ready() if self.inbox else None
        if adapter is not None:
            from loop.daemon.agents.adapter import AdapterRegistration

            iteration = Iteration(self.resources, AdapterRegistration(adapter), should_stop=self.should_stop,
                                  on_step=self.status.step, operator="interactive")
        else:
            iteration = Iteration(self.resources, self.agent, should_stop=self.should_stop, on_step=self.status.step)
        self.busy = True
        try:
            result = iteration.run()
        except RulerTampered as exc:
            self._on_tamper([str(exc)])
            return
        except Exception as exc:  # outside any experiment (judge, record, git unusable): counts as a failure
            log.exception("iteration failed before an experiment could start")
            self.consecutive_failures += 1
            if self.options.once or self.consecutive_failures >= self.config.max_consecutive_failures:
                self.request_stop(f"cannot run an experiment: {type(exc).__name__}: {exc}")
            return
        finally:
            self.busy = False
        self.summary.results.append(result)
        self._account(result)
        if result.ruler_tampered:
            self.request_stop(f"ruler tampering detected, halting: {result.reason}")

    def _account(self, result: IterationResult) -> None:
        self.spent_usd += result.agent_cost_usd
        failed = result.status in ("invalid", "crashed") and not result.reason.startswith(("stopped by", "abandoned"))
        self.consecutive_failures = self.consecutive_failures + 1 if failed else 0
        if result.baseline:
            return
        self.since_best = 0 if result.new_best else self.since_best + 1
        best = experiments.best(self.config)
        self.status.best(best.quality if best else None)

    def _check_stop_conditions(self) -> bool:
        c = self.config
        limit = self.options.max_experiments or c.max_experiments
        reasons = [
            (self.spent_usd >= c.budget_usd, f"budget spent: ${self.spent_usd:.2f} of ${c.budget_usd:.2f}"),
            (limit is not None and self.summary.experiments >= limit, f"max experiments reached ({limit})"),
            (self.consecutive_failures >= c.max_consecutive_failures,
             f"{self.consecutive_failures} invalid or crashed experiments in a row"),
            (self.since_best >= c.plateau, f"plateau: {self.since_best} experiments without a new best"),
        ]
        for hit, reason in reasons:
            if hit:
                self.request_stop(reason)
                return True
        return self._check_clock()

    def _check_clock(self) -> bool:
        now = datetime.now()
        if self.deadline and now >= self.deadline:
            self.request_stop(f"--until {self.options.until} reached")
            return True
        if self.window and not self.window.contains(now) and self.summary.results:
            self.request_stop(f"run window {self.window} closed")
            return True
        return False

    # --- signals --------------------------------------------------------------------------------
    def _install_signals(self):
        if not self.options.handle_signals or threading.current_thread() is not threading.main_thread():
            return None
        return {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    @staticmethod
    def _restore_signals(previous) -> None:
        for sig, handler in (previous or {}).items():
            signal.signal(sig, handler)
