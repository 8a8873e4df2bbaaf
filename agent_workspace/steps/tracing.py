"""Trace events for deterministic steps: `{"kind": "step", "label", "latency_ms", "detail"}`.

The event goes to the model handle's trace sink: `model.trace_step(event)` on the sandbox's proxy
handle, `model.on_call(event)` on the in-process DirectModel; with no model it is dropped.

    with traced_step("dedupe", model) as detail:
        kept = dedupe(questions)
        detail["kept"] = len(kept)

    @traced("prune")                       # the decorated function gets an extra `model=` keyword
    def prune(questions): ...
"""

from __future__ import annotations

import functools
import time
from contextlib import contextmanager


def emit(model, event: dict) -> None:
    sink = getattr(model, "trace_step", None) or getattr(model, "on_call", None)
    if callable(sink):
        sink(event)


@contextmanager
def traced_step(label: str, model=None, **detail):
    started = time.perf_counter()
    info = dict(detail)
    try:
        yield info
    finally:
        emit(model, {"kind": "step", "label": label,
                     "latency_ms": round((time.perf_counter() - started) * 1000, 3), "detail": info})


def traced(label: str):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, model=None, **kwargs):
            with traced_step(label, model) as detail:
                result = fn(*args, **kwargs)
                if isinstance(result, list):
                    detail["items"] = len(result)
            return result

        return inner

    return wrap
