"""The sandboxed pipeline worker: `python -m loop.sandbox.worker WORKSPACE`.

Imports WORKSPACE/pipeline.py once, then serves cases read as JSON lines on stdin (see messages.py).
The pipeline's `model` is a `ProxyModel`: each `respond(...)` is sent to the trusted parent, which
makes the real runner call and traces it; this process never talks to a runner, network or ruler.
The protocol uses private copies of the original stdin/stdout; fd 1 is pointed at stderr so a
pipeline's print() cannot corrupt the conversation, and fd 0 at /dev/null.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from loop.runners.dialect import SchemaDialect
from loop.runners.model import ModelCallError
from loop.runners.protocol import Response


class _Channel:
    def __init__(self) -> None:
        self._in = os.fdopen(os.dup(0), "r", encoding="utf-8")
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)

    def send(self, message: dict) -> None:
        self._out.write(json.dumps(message, separators=(",", ":"), default=str) + "\n")
        self._out.flush()

    def receive(self) -> dict | None:
        line = self._in.readline()
        return json.loads(line) if line else None


class ProxyModel:
    """The `model` handle a sandboxed pipeline gets; same `respond` signature as DirectModel."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self.dialect: SchemaDialect | None = None  # the runner's schema dialect, sent with each case

    def respond(self, prompt: str, *, instructions: str | None = None, sampling: Any = None,
                schema: dict | None = None, max_output_tokens: int | None = None, adapter: Any = None,
                timeout_s: float | None = None, label: str | None = None) -> Response:
        request = {"prompt": prompt, "instructions": instructions, "sampling": _plain(sampling),
                   "schema": schema, "max_output_tokens": max_output_tokens, "adapter": _plain(adapter),
                   "timeout_s": timeout_s, "label": label}
        self._channel.send({"op": "model_call", "request": request})
        reply = self._channel.receive()
        if reply is None:
            raise SystemExit(0)  # parent went away
        if reply.get("op") == "model_error":
            raise ModelCallError(reply.get("code") or "internal", reply.get("message") or "model call failed",
                                 bool(reply.get("retryable")))
        return Response.model_validate(reply["response"])

    def trace_step(self, event: dict) -> None:
        """Report a deterministic step; the parent adds it to the case's trace."""
        self._channel.send({"op": "trace", "event": event})


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True) if hasattr(value, "model_dump") else value


def load_pipeline(workspace: Path):
    sys.path.insert(0, str(workspace))
    spec = importlib.util.spec_from_file_location("pipeline", workspace / "pipeline.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pipeline"] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "generate", None)):
        raise AttributeError(f"{workspace / 'pipeline.py'} defines no generate(task, model) function")
    return module.generate


def _jsonable(value: Any) -> Any:
    json.dumps(value)  # raises TypeError for values that cannot cross the boundary
    return value


def serve(workspace: Path) -> int:
    channel = _Channel()
    try:
        generate = load_pipeline(workspace)
    except BaseException as exc:  # noqa: BLE001 - any import failure is the pipeline's fault
        channel.send({"op": "load_error", "message": f"{type(exc).__name__}: {exc}", "exc_type": type(exc).__name__,
                      "traceback": traceback.format_exc()})
        return 1
    channel.send({"op": "ready"})
    model = ProxyModel(channel)
    while True:
        message = channel.receive()
        if message is None or message.get("op") == "shutdown":
            return 0
        if message.get("op") != "case":
            continue
        raw_dialect = message.get("dialect")
        model.dialect = SchemaDialect.model_validate(raw_dialect) if raw_dialect else None
        try:
            answer = _jsonable(generate(message["task"], model))
            channel.send({"op": "result", "answer": answer})
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a pipeline is a case failure too
            if isinstance(exc, KeyboardInterrupt):
                raise
            channel.send({"op": "error", "message": f"{type(exc).__name__}: {exc}", "exc_type": type(exc).__name__,
                          "traceback": traceback.format_exc()[-4000:]})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m loop.sandbox.worker WORKSPACE", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(Path(sys.argv[1]).resolve()))
