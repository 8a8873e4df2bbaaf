"""Model lines: when the runner's model changes, never compare across the change.

Before an agent iteration the daemon compares the runner's model line (`loop.model_line`) with the
line of the incumbent's official full-gate evaluation. When they differ (a macOS update, another
GGUF) it opens a new line: the stock baseline and the current best are re-scored on the new model as
automatic experiments (`Measure`s: no agent; the re-scored best becomes the incumbent of the new line,
the stock baseline the line's baseline the Goodhart drift is measured from), an event "model changed
from X to Y: baseline a → b, best c → d" is recorded and notified, and the research continues inside
the new line. Keep decisions, the running best and the noise floor are per (ruler id, model line).
If the best uses an adapter locked to the old base model, the new line starts from the best
adapter-free pipeline of the old line instead and one training request is filed for the new base
(`loop.daemon.line_adapters`): an adapter that cannot load is never scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from loop.db.models import Event, Evaluation, Experiment
from loop.db.session import session_scope
from loop.model_line import ModelIdentity
from loop.runners.protocol import Backend

log = logging.getLogger("loop.daemon")
EVENT = "model_line"


@dataclass
class Measure:
    """An experiment the daemon runs itself on a given commit (no agent)."""

    commit: str
    agent: str  # "baseline" (the line's stock baseline) | "line-best" (the best re-scored)
    hypothesis: str
    method: str
    advances_research: bool  # a kept measurement moves the research branch (only at its tip)
    line_baseline: bool  # the line's baseline: drift 0, the reference of later drifts


@dataclass
class LineChange:
    before: ModelIdentity
    after: ModelIdentity
    incumbent_number: int
    incumbent_quality: float
    probe: Backend | None = None  # the new runner's probe (adapter support, base-model signature)

    @property
    def words(self) -> str:
        return f"model changed from {self.before.label()} to {self.after.label()}"


def detect(resources, incumbent) -> LineChange | None:
    """A change of model line between the incumbent's evaluation and the runner as it answers now."""
    if incumbent is None:
        return None
    with session_scope(resources.config) as db:
        evaluation = db.get(Evaluation, incumbent.evaluation_id)
        line, identity = evaluation.model_line, evaluation.model_identity
    probe = resources.runner.probe()
    now = ModelIdentity.of(probe)
    if line is None or identity is None or line == now.line_key():
        return None  # same line (or a record older than model lines: nothing to compare)
    return LineChange(ModelIdentity(**identity), ModelIdentity.of(probe), incumbent.number, incumbent.quality,
                      probe)


def stock_baseline(config, ruler_id: str, model_line: str) -> Experiment | None:
    """The baseline experiment of a line under this ruler (the stock pipeline's measurement)."""
    with session_scope(config) as db:
        return db.scalars(select(Experiment).where(
            Experiment.agent == "baseline", Experiment.status == "kept", Experiment.ruler_id == ruler_id,
            Experiment.model_line == model_line).order_by(Experiment.number.desc())).first()


def open_new_line(resources, change: LineChange, ruler_id: str, research_tip: str, make_iteration):
    """Re-score the stock baseline and the current best on the new model; returns the last result.
    When the best is the stock pipeline (or the record has no baseline of the old line), one measurement
    at the research tip is both. When the best uses an adapter locked to the old base model
    (`line_adapters.plan_start`), the best ADAPTER-FREE pipeline of the old line is re-scored in its
    place and one training request is filed for the new base."""
    from loop.daemon import experiments
    from loop.daemon.line_adapters import plan_start

    config = resources.config
    log.warning("%s: opening a new model line, re-scoring the baseline and the best", change.words)
    stock = stock_baseline(config, ruler_id, change.before.line_key())
    plan = plan_start(resources, change, ruler_id, research_tip)
    start_commit, start_number, what = research_tip, change.incumbent_number, "the current best"
    if plan is not None and plan.start_commit is not None:
        start_commit, start_number = plan.start_commit, plan.start_number
        what = f"the best adapter-free pipeline ({plan.check.adapter} cannot load on the new model)"
    in_place = start_commit == research_tip  # otherwise the research branch moves once the start is kept
    note = "" if plan is None else f" {plan.words}."
    method = "Measured on the full gate without changes on the new model ({}); scores are never compared across model lines."
    if stock is None or stock.number == start_number or not stock.commit:
        baseline_result = best_result = make_iteration(Measure(
            commit=start_commit, agent="baseline",
            hypothesis=f"baseline: {change.words}; {what} (experiment {start_number:04d}) re-scored.{note}",
            method=method.format("the new line's baseline and incumbent"),
            advances_research=in_place, line_baseline=True)).run()
    else:
        baseline_result = make_iteration(Measure(
            commit=stock.commit, agent="baseline",
            hypothesis=f"baseline: {change.words}; the stock pipeline (experiment {stock.number:04d}) re-scored",
            method=method.format("the new line's baseline"), advances_research=False, line_baseline=True)).run()
        best_result = make_iteration(Measure(
            commit=start_commit, agent="line-best",
            hypothesis=f"re-score: {change.words}; {what} (experiment {start_number:04d}) re-scored.{note}",
            method=method.format("the new line's incumbent"), advances_research=in_place, line_baseline=False)).run()
    if not in_place and best_result.status == "kept":
        resources.advance_research(experiments.get(config, best_result.number).commit, research_tip)
    record_change(config, change, stock, baseline_result, best_result, plan)
    if baseline_result is not best_result:  # the one result returned carries both measurements' judge bill
        best_result.judge_cost_usd += baseline_result.judge_cost_usd
    return best_result


def _q(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def record_change(config, change: LineChange, stock, baseline_result, best_result, plan=None) -> None:
    from loop.daemon.recording import send

    baseline_after, best_after = baseline_result.quality, best_result.quality
    message = (f"{change.words}: baseline {_q(stock.quality if stock else None)} → {_q(baseline_after)}, "
               f"best {_q(change.incumbent_quality)} → {_q(best_after)}" + (f"; {plan.words}" if plan else ""))
    payload = {"from": change.before.model_dump(), "to": change.after.model_dump(),
               "from_line": change.before.line_key(), "to_line": change.after.line_key(),
               "baseline_before": stock.quality if stock else None, "baseline_after": baseline_after,
               "best_before": change.incumbent_quality, "best_after": best_after,
               "experiments": sorted({r.number for r in (baseline_result, best_result)}),
               "adapter_lock": None if plan is None else {
                   "adapter": plan.check.adapter, "reason": plan.check.reason, "start_experiment": plan.start_number,
                   "start_commit": plan.start_commit, "request": plan.request_id}}
    log.warning(message)
    send(config, EVENT, message, payload)


def latest_change(config) -> str | None:
    """The newest "model changed from X to Y: …" message, for status, the digest and the dashboard."""
    with session_scope(config) as db:
        event = db.scalars(select(Event).where(Event.kind == EVENT).order_by(Event.id.desc())).first()
        return event.message if event else None
