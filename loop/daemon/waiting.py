"""While the judge or the agent's API is unreachable the daemon waits; it never scores an outage.

A service that does not answer raises a `ServiceUnavailable` (loop/errors.py): `JudgeUnavailable`
when an evaluation's judging stays incomplete after re-judging its failed cases (loop/judging.py),
`AgentApiUnavailable` when the research agent's model API refused, overloaded or rate-limited it
(loop/daemon/agents/claude.py). `Waiter.call` runs one step of an experiment (the agent step, a
re-score, a confirmation round, a noise floor, the holdout) and, on that error, tries the same step
again after an exponential backoff (`judge_wait_initial_s`, doubling up to `judge_wait_max_s`): the
finished cases come from the caches (the agent step starts again from a fresh worktree), so the
experiment continues under its own number from the step that was waiting. Meanwhile the status line
says "waiting for the judge since HH:MM (n tries)" (or "for the agent's API"), and one notification
goes out once the wait passed `judge_wait_notify_after_s`. Waiting is not a failure: no experiment
ends, so nothing counts toward the failure halt.

A stop request during the wait ends it at once (`WaitAbandoned`: the experiment is suspended and
resumes on the next start). A run that must not wait (`run --once`) gives up after the evaluation's
own retries: `WaitAbandoned` with `unreachable` set, and the command exits non-zero.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, TypeVar

from loop.config import Config
from loop.errors import ServiceUnavailable
from loop.judging import pause

log = logging.getLogger("loop.daemon")
T = TypeVar("T")


@dataclass
class Outage:
    """One stretch of waiting for a service (what the status line shows)."""

    what: str = "the judge"  # the service waited for, as the status line names it
    notify_kind: str = "judge_waiting"
    since: datetime = field(default_factory=datetime.now)
    started: float = field(default_factory=time.monotonic)
    tries: int = 0
    last_error: str = ""
    notified: bool = False

    def line(self) -> str:
        return f"waiting for {self.what} since {self.since:%H:%M} ({self.tries} {'try' if self.tries == 1 else 'tries'})"

    def waited_s(self) -> float:
        return time.monotonic() - self.started


class WaitAbandoned(Exception):
    """The wait ended without the service: a stop request, or a run that does not wait."""

    def __init__(self, reason: str, outage: Outage, unreachable: str | None = None):
        super().__init__(reason)
        self.reason, self.outage, self.unreachable = reason, outage, unreachable


class Waiter:
    """Runs steps, waiting out an unreachable judge or agent API (`patient`) or giving up at once."""

    def __init__(self, config: Config, *, patient: bool = True, should_stop: Callable = lambda: None,
                 on_wait: Callable[[Outage | None], None] = lambda outage: None, notify=None):
        self.config, self.patient, self.should_stop, self.on_wait = config, patient, should_stop, on_wait
        self._notify = notify
        self.total_tries = 0  # failed tries over this waiter's life (tests, the soak)

    def delay(self, tries: int) -> float:
        return min(self.config.judge_wait_max_s, self.config.judge_wait_initial_s * 2 ** (tries - 1))

    def call(self, fn: Callable[[], T], what: str = "judging") -> T:
        """`fn()`, tried again after each `ServiceUnavailable` until it answers (`what`: the step, for the log)."""
        outage: Outage | None = None
        while True:
            try:
                result = fn()
            except ServiceUnavailable as exc:
                if outage is None or outage.what != exc.service:
                    outage = Outage(what=exc.service, notify_kind=exc.notify_kind)
                outage.tries += 1
                outage.last_error = str(exc)
                self.total_tries += 1
                if not self.patient:
                    raise WaitAbandoned(str(exc), outage, unreachable=str(exc)) from None
                self._wait(outage, what)
                continue
            if outage is not None:
                log.info("%s answers again after %d tries (%.0f s); %s goes on", outage.what, outage.tries,
                         outage.waited_s(), what)
                self.on_wait(None)
            return result

    def _wait(self, outage: Outage, what: str) -> None:
        delay = self.delay(outage.tries)
        self.on_wait(outage)
        log.warning("%s: %s; %s tried again in %.1f s", outage.line(), outage.last_error, what, delay)
        if not outage.notified and outage.waited_s() >= self.config.judge_wait_notify_after_s:
            outage.notified = True
            self._send(outage.notify_kind, f"The loop is {outage.line()}: {outage.last_error}",
                       {"since": outage.since.isoformat(timespec="minutes"), "tries": outage.tries,
                        "error": outage.last_error, "waiting_for": outage.what})
        stop = pause(delay, self.should_stop)
        if stop:
            self.on_wait(None)
            raise WaitAbandoned(str(stop), outage)

    def _send(self, kind: str, message: str, payload: dict) -> None:
        if self._notify is not None:
            self._notify(message, payload)
            return
        from loop.daemon.recording import send

        send(self.config, kind, message, payload)
