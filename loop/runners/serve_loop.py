"""The request loop shared by the Python runners (llama, replay, cloud).

A backend implements `backend() -> Backend` (its identity and availability; `available=False` with a
`reason` makes every probe and generate an error with the backend's `unavailable_code`), and
`generate(request) -> Response`. This module reads one JSON request per stdin line, answers every line
with exactly one JSON response line on the real stdout, and keeps serving after bad input:
unparseable line -> bad_request (id null), unknown op -> unknown_op, fields that fail the JSON Schema
(`$defs/Request`) or the pydantic models -> bad_request naming the field, a backend exception -> internal. `shutdown` is answered, then the loop ends.

Before serving, file descriptor 1 is moved to stderr so that stray prints from native libraries can
never corrupt the protocol stream.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
import traceback
from typing import IO, Any, Callable, Protocol

from pydantic import ValidationError

from loop.runners.protocol import Backend, ProtocolError, Request, Response, Timing, Usage, load_schema

OPS = ("probe", "generate", "shutdown")


class Backendish(Protocol):
    def backend(self) -> Backend: ...
    def generate(self, request: Request) -> Response: ...


def error_response(request_id: str | None, backend: Backend, code: str, message: str, *,
                   retryable: bool = False, text: str | None = None, usage: Usage | None = None,
                   latency_ms: float | None = None) -> Response:
    return Response(id=request_id, ok=False, text=text, usage=usage, timing=Timing(latency_ms=latency_ms),
                    backend=backend, error=ProtocolError(code=code, message=message, retryable=retryable))


def protocol_stdout() -> IO[str]:
    """A private handle on the real stdout; fd 1 then points at stderr."""
    fd = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


def handle_line(line: str, impl: Backendish) -> tuple[Response, bool]:
    """Answer one request line. Returns (response, keep_serving)."""
    started = time.perf_counter()
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        return error_response(None, impl.backend(), "bad_request", f"request line is not JSON: {exc}"), True
    if not isinstance(raw, dict):
        return error_response(None, impl.backend(), "bad_request",
                              f"request must be a JSON object, got {type(raw).__name__}"), True
    raw_id = raw.get("id")
    request_id = raw_id if isinstance(raw_id, str) and raw_id else None
    op = raw.get("op")
    if op not in OPS:
        return error_response(request_id, impl.backend(), "unknown_op",
                              f"unknown op {op!r}; this runner answers {', '.join(OPS)}"), True
    problem = _schema_problem(raw)
    if problem:
        return error_response(request_id, impl.backend(), "bad_request", f"invalid request: {problem}"), True
    try:
        request = Request.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(request)'}: {e['msg']}" for e in exc.errors()[:5])
        return error_response(request_id, impl.backend(), "bad_request", f"invalid request: {problems}"), True
    if op == "shutdown":
        return Response(id=request.id, ok=True, backend=impl.backend()), False
    if op == "probe" or impl.backend().available is False:
        return probe_response(request.id, impl), True
    try:
        return impl.generate(request), True
    except Exception as exc:  # a backend bug must not take the runner down
        traceback.print_exc(file=sys.stderr)
        return error_response(request.id, impl.backend(), "internal", f"{type(exc).__name__}: {exc}",
                              latency_ms=(time.perf_counter() - started) * 1000), True


@functools.lru_cache(maxsize=1)
def _request_validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**load_schema(), "$ref": "#/$defs/Request"})


def _schema_problem(raw: dict) -> str | None:
    """The first way `raw` breaks $defs/Request of the JSON Schema (the source of truth), or None.
    Checked before the pydantic models, which are a little more lenient (e.g. a default sampling mode)."""
    from jsonschema.exceptions import best_match

    error = best_match(_request_validator().iter_errors(raw))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(request)"
    return f"{where}: {error.message[:300]}"


def probe_response(request_id: str, impl: Backendish) -> Response:
    """ok with the backend, or (when it cannot serve) the backend's `unavailable_code` error."""
    backend = impl.backend()
    if backend.available is False:
        code = getattr(impl, "unavailable_code", None) or "model_unavailable"
        return error_response(request_id, backend, code, backend.reason or "the model is not available")
    return Response(id=request_id, ok=True, backend=backend)


def serve(impl: Backendish, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or protocol_stdout()
    for line in stdin:
        if not line.strip():
            continue
        response, keep = handle_line(line, impl)
        stdout.write(response.to_line() + "\n")
        stdout.flush()
        if not keep:
            break
    return 0


def run_cli(description: str, add_arguments: Callable[[argparse.ArgumentParser], None],
            build: Callable[[argparse.Namespace], Any], argv: list[str] | None = None) -> int:
    """`<runner> serve|probe [options]`: probe prints one probe response and exits."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("command", choices=["serve", "probe"])
    add_arguments(parser)
    args = parser.parse_args(argv)
    impl = build(args)
    if args.command == "probe":
        print(probe_response("probe", impl).to_line(), flush=True)
        return 0
    return serve(impl)
