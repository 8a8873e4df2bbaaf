"""Helpers of the experiment record (`loop.daemon.record`): its process diagram and its notification."""

from __future__ import annotations

import logging

log = logging.getLogger("loop.daemon")


def trace_svg(report, number: int) -> str | None:
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


def notify_record(config, record, new_best: bool) -> None:
    """The notification an experiment's end deserves (`ExperimentRecord.notice`), if any."""
    notice = record.notice(new_best)
    if notice is not None:
        send(config, notice.kind, notice.message, notice.payload)


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
