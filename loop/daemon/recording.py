"""Turning an experiment's verdict into record fields, a commit message and a notification."""

from __future__ import annotations

import logging

log = logging.getLogger("loop.daemon")


def _trace_svg(report, number: int) -> str | None:
    """The process diagram of the first case that has a trace (the pipeline is the same for all)."""
    try:
        from loop.trace_diagram import trace_to_svg
    except ImportError:
        return None
    for outcome in report.outcomes:
        if outcome.trace:
            try:
                return trace_to_svg(outcome.trace, f"experiment {number:04d} · {outcome.case_id}: {outcome.task}")
            except Exception as exc:  # a diagram must not lose the experiment
                log.warning("trace diagram failed: %s", exc)
                return None
    return None


def evaluation_fields(verdict, ruler_id: str, judge_id: str, number: int) -> dict:
    fields = {"ruler_id": ruler_id, "judge_id": judge_id}
    report = verdict.report
    if report is None:
        return fields
    s = report.summary
    fields.update(dims=s.dims, wins=s.wins, ties=s.ties, losses=s.losses, runner_model=report.backend.model,
                  runner_version=report.backend.model_version,
                  trace_svg=_trace_svg(report, number))
    return fields


def _fmt(value, signed=False) -> str | None:
    if value is None:
        return None
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def trailers_and_body(iteration, fields: dict, verdict) -> tuple[dict, str]:
    incumbent = getattr(iteration, "incumbent", None)
    parent = None if iteration.baseline or incumbent is None else f"{incumbent.number:04d}"
    runner = fields.get("runner_model")
    if runner and fields.get("runner_version"):
        runner = f"{runner}@{fields['runner_version']}"
    trailers = {
        "Experiment": f"{iteration.number:04d}", "Status": verdict.status, "Lever": fields.get("lever") or "inference",
        "Operator": iteration.operator, "Gate": verdict.gate or "none", "Quality": _fmt(verdict.quality) or "none",
        "Delta": _fmt(verdict.delta, signed=True) or "none", "Ruler": iteration.rid, "Judge": fields.get("judge_id"),
        "Runner-Model": runner or "none", "Parent": parent or "none",
    }
    result = [f"Result: {verdict.status} — {verdict.reason}"]
    if verdict.report is not None:
        s = verdict.report.summary
        dims = ", ".join(f"{k} {v:.2f}" for k, v in s.dims.items())
        result.append(f"Quality {s.quality:.4f} on the {verdict.gate} gate (W/T/L {s.wins}/{s.ties}/{s.losses}; {dims}).")
    body = (f"Hypothesis:\n{(fields.get('hypothesis') or '(none stated)').strip()}\n\n"
            f"Method:\n{(fields.get('method') or '(none stated)').strip()}\n\n" + "\n".join(result))
    return trailers, body


def notify_outcome(config, number: int, verdict, fields: dict, new_best: bool) -> None:
    if new_best:
        send(config, "new_best", f"Experiment {number:04d} is the new best: quality {verdict.quality:.4f} "
             f"({verdict.delta:+.4f}) — {(fields.get('hypothesis') or '').splitlines()[0] if fields.get('hypothesis') else ''}",
             {"experiment": number, "quality": verdict.quality, "delta": verdict.delta})
    elif verdict.status == "invalid":
        send(config, "invalid", f"Experiment {number:04d} is invalid: {verdict.reason}",
             {"experiment": number, "reason": verdict.reason})


def send(config, kind: str, message: str, payload: dict | None = None) -> None:
    """`loop.daemon.notify.notify`, never fatal; without that module the event is only logged."""
    try:
        from loop.daemon.notify import notify
    except ImportError:
        log.info("notification (%s): %s", kind, message)
        return
    try:
        notify(config, kind, message, payload)
    except Exception as exc:
        log.warning("notification %s failed: %s", kind, exc)
