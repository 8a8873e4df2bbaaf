"""The judge drift check, scheduled by the daemon: does the judge behind an unchanged judge id still
say what it said?

The incumbent's official full-gate outputs are judged again with fresh draws by the one re-judging
service (`Rejudger.judge_drift`, an evaluation of kind `drift`) and compared case by case with the
stored judging. When (`DriftSchedule`): each time a run window opens (the first iteration with an
incumbent inside a new occurrence of the window) and every `drift_check_every` iterations. Every check
is recorded as an Event `drift_check`; a drift beyond the incumbent's noise floor (the paired rule
finds a difference at the keep confidence AND the mean per-case change exceeds the floor) notifies
`judge_drift`. A failing check is logged and never ends the night.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pydantic import BaseModel

from loop.daemon import experiments
from loop.daemon.noise import incumbent_noise_floor
from loop.daemon.rejudge import Rejudger
from loop.db.models import Event
from loop.db.session import session_scope

log = logging.getLogger("loop.daemon")
CHECK_EVENT = "drift_check"
NOTIFY_KIND = "judge_drift"


class DueKind(str, Enum):
    WINDOW_OPENED = "window_opened"
    EVERY_N = "every_n_iterations"


@dataclass(frozen=True)
class DriftDue:
    kind: DueKind
    message: str


class DriftSchedule:
    """When the next drift check is due. `checked()` marks one done (a due check without an incumbent
    to re-judge stays due)."""

    def __init__(self, every: int, window=None):
        self.every, self.window = every, window
        self.last_opening: datetime | None = None
        self.since = 0  # iterations since the last check

    def due(self, now: datetime) -> DriftDue | None:
        self.since += 1
        opening = self.window.opened_at(now) if self.window is not None else None
        if opening is not None and opening != self.last_opening:
            return DriftDue(DueKind.WINDOW_OPENED, f"the run window {self.window} opened at {opening:%Y-%m-%d %H:%M}")
        if self.every and self.since >= self.every:
            return DriftDue(DueKind.EVERY_N, f"{self.since} iterations since the last drift check")
        return None

    def checked(self, now: datetime) -> None:
        self.since = 0
        if self.window is not None:
            self.last_opening = self.window.opened_at(now) or self.last_opening


class DriftCheck(BaseModel):
    incumbent: int
    evaluation_id: int  # the stored official full-gate evaluation judged again
    drift_evaluation_id: int | None
    delta: float  # mean per-case (fresh - stored)
    cases: int
    noise_floor: float
    drifted: bool  # the paired rule finds a difference
    beyond_floor: bool  # drifted and |delta| > noise floor: notified
    due: str
    reason: str

    @property
    def message(self) -> str:
        head = (f"judge drift: re-judging experiment {self.incumbent:04d}'s full gate gives {self.delta:+.3f} "
                f"per case ({self.cases} cases)")
        if self.beyond_floor:
            return f"{head}, beyond the noise floor {self.noise_floor:.4f}; scores judged before and after differ"
        return f"{head}, within the noise floor {self.noise_floor:.4f}: no drift"


def check_drift(resources, due: DriftDue) -> DriftCheck | None:
    """Re-judge the incumbent now; None when there is no incumbent under the current ruler."""
    from loop.daemon.recording import send

    config = resources.config
    rid = resources.ruler_id()
    incumbent = experiments.incumbent(config, rid, resources.git.research_tip())
    if incumbent is None:
        return None
    rejudger = Rejudger(config, resources.judge)
    floor = incumbent_noise_floor(rejudger, rid, incumbent.number, incumbent.evaluation_id)
    drift = rejudger.judge_drift(incumbent.evaluation_id, incumbent.number, confidence=config.keep_confidence)
    check = DriftCheck(incumbent=incumbent.number, evaluation_id=incumbent.evaluation_id,
                       drift_evaluation_id=drift.evaluation_id, delta=drift.delta, cases=drift.cases,
                       noise_floor=floor, drifted=drift.drifted,
                       beyond_floor=drift.drifted and abs(drift.delta) > floor, due=due.message, reason=drift.reason)
    with session_scope(config) as db:
        db.add(Event(kind=CHECK_EVENT, experiment_number=incumbent.number, message=check.message,
                     payload=check.model_dump(mode="json")))
    if check.beyond_floor:
        log.warning("%s (%s)", check.message, due.message)
        send(config, NOTIFY_KIND, check.message, {**check.model_dump(mode="json"), "experiment": incumbent.number})
    else:
        log.info("%s (%s)", check.message, due.message)
    return check
