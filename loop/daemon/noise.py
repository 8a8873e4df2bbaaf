"""The judge's noise floor, re-measured on each new incumbent: its outputs judged once more with fresh
draws (the re-judging service), the standard error of the mean per-case difference between the two
judgings (`keep.noise_floor_from`). A deterministic judge (the proxy) gives exactly 0.

The second judging is recorded as an evaluation of kind `noise`; the figure is stored as an Event of
kind `noise_floor` keyed by (ruler id, model line, incumbent experiment). A keep decision uses the
floor of its incumbent; an incumbent without one (a record older than this rule) is measured on the
spot from its stored outputs.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from loop.daemon.keep import noise_floor_from, scores_from_outcomes
from loop.daemon.rejudge import Rejudger, stored_report
from loop.db.models import Event
from loop.db.session import session_scope
from loop.model_line import line_key

log = logging.getLogger("loop.daemon")
NOISE_EVENT = "noise_floor"


def measure_noise_floor(rejudger: Rejudger, report, number: int, should_stop=None) -> float:
    """Re-judge `report`'s outputs (experiment `number`'s full gate) and store the floor under its key.
    The round is named (`noise/N`): one a stop interrupted continues with the draws it made."""
    second = rejudger.rejudge(report, kind="noise", experiment_number=number, subject=number,
                              owner=f"noise/{number}", should_stop=should_stop)
    floor = noise_floor_from(scores_from_outcomes(report.outcomes), scores_from_outcomes(second.outcomes))
    line = line_key(report.backend)
    with session_scope(rejudger.config) as db:
        db.add(Event(kind=NOISE_EVENT, experiment_number=number,
                     message=f"noise floor {floor:.4f} measured by re-judging experiment {number}",
                     payload={"ruler_id": report.ruler_id, "model_line": line, "incumbent": number,
                              "noise_floor": floor, "evaluation_id": report.evaluation_id,
                              "noise_evaluation_id": second.evaluation_id,
                              "first_quality": report.summary.quality, "second_quality": second.summary.quality}))
    log.info("noise floor of incumbent %04d under ruler %s, line %s: %.4f (qualities %.4f vs %.4f)", number,
             report.ruler_id[:12], line, floor, report.summary.quality, second.summary.quality)
    return floor


def stored_noise_floor(config, ruler_id: str, model_line: str | None, incumbent: int) -> float | None:
    with session_scope(config) as db:
        for event in db.scalars(select(Event).where(Event.kind == NOISE_EVENT, Event.experiment_number == incumbent)
                                .order_by(Event.id.desc())):
            payload = event.payload or {}
            if payload.get("ruler_id") == ruler_id and payload.get("model_line") == model_line:
                return float(payload["noise_floor"])
    return None


def incumbent_noise_floor(rejudger: Rejudger, ruler_id: str, incumbent_number: int, evaluation_id: int,
                          should_stop=None) -> float:
    """The floor of this incumbent under this ruler and its model line, measured now when missing."""
    report = stored_report(rejudger.config, evaluation_id)
    floor = stored_noise_floor(rejudger.config, ruler_id, line_key(report.backend), incumbent_number)
    if floor is None:
        floor = measure_noise_floor(rejudger, report, incumbent_number, should_stop)
    return floor


def latest_noise_floor(config, ruler_id: str) -> float | None:
    """The newest floor stored under a ruler (any line): what the digest reports for the official judge."""
    with session_scope(config) as db:
        for event in db.scalars(select(Event).where(Event.kind == NOISE_EVENT).order_by(Event.id.desc())):
            if (event.payload or {}).get("ruler_id") == ruler_id:
                return float(event.payload["noise_floor"])
    return None
