"""A long-lived runner process spoken to over pipeline-gen/1 (JSON Lines on stdin/stdout).

`RunnerClient(argv)` starts `argv` (a runner's `serve` command) on first use, checks it answers a
`probe` (the start-up handshake, which also covers model loading), then sends one request at a time
under a lock. Every response line is validated against the pydantic protocol models; a line that does
not validate raises `RunnerError("bad_response")`. A runner that dies (EOF on stdout, broken pipe) or
does not answer within the request's timeout is killed, started again, and the request retried ONCE.
The runner's stderr is drained by a thread into a ring buffer (`stderr_tail()`) and the logger
`loop.runners.<name>`.

`env`, when given, is the runner's complete environment (subprocess semantics), not an overlay.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import threading
import time
import uuid
from collections import deque
from typing import Any

from pydantic import ValidationError

from loop.runners.dialect import SchemaDialect, dialect_for
from loop.runners.protocol import Backend, Request, Response

STARTUP_TIMEOUT_S = 600.0  # spawn + model load + first probe answer
SHUTDOWN_GRACE_S = 5.0
RUNNER_TIMEOUT_GRACE_S = 2.0  # extra wait when the request carries timeout_s, so the runner can report it
_EOF = object()


class RunnerError(RuntimeError):
    """The runner could not answer: it died twice, timed out twice, or answered something invalid."""

    def __init__(self, code: str, message: str, retryable: bool = False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class SchemaDialectError(RunnerError):
    """Refused before sending: the request's schema uses a keyword outside the backend's dialect.

    A pipeline fault (its schema), never a measurement: nothing was sent, nothing is scored."""

    def __init__(self, dialect: str, keyword: str, path: str, message: str):
        super().__init__("unsupported_schema", f"{message} (refused by the runner client before sending)")
        self.dialect = dialect
        self.keyword = keyword
        self.path = path


class _Dead(Exception):
    """Internal: the process is gone or stopped answering; restart and retry."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class _Process:
    """One spawned runner with its stdout reader and stderr drain threads."""

    def __init__(self, argv: list[str], env: dict | None, name: str, tail: deque, log: logging.Logger):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True, encoding="utf-8", bufsize=1,
        )
        self.lines: queue.Queue = queue.Queue()
        self._out = threading.Thread(target=self._read_stdout, name=f"{name}-stdout", daemon=True)
        self._err = threading.Thread(target=self._read_stderr, args=(tail, log), name=f"{name}-stderr", daemon=True)
        self._out.start()
        self._err.start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(_EOF)

    def _read_stderr(self, tail: deque, log: logging.Logger) -> None:
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            tail.append(line)
            log.debug("%s", line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line.rstrip("\n") + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise _Dead("runner_exited", f"could not write to the runner: {exc}") from None

    def receive(self, deadline: float) -> str:
        remaining = deadline - time.monotonic()
        try:
            item = self.lines.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            raise _Dead("timeout", "no answer in time") from None
        if item is _EOF:
            raise _Dead("runner_exited", f"the runner exited (code {self.proc.wait()})")
        return item

    def stop(self, graceful: bool) -> None:
        if graceful and self.alive():
            try:
                self.send(json.dumps({"id": "shutdown", "op": "shutdown"}))
                self.proc.stdin.close()
                self.proc.wait(SHUTDOWN_GRACE_S)
            except (_Dead, subprocess.TimeoutExpired, OSError, ValueError):
                pass
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(SHUTDOWN_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        self._out.join(2)
        self._err.join(2)


class RunnerClient:
    """Thread-safe client of one long-lived runner process (see the module docstring)."""

    def __init__(self, argv: list[str], *, env: dict | None = None, timeout_s: float = 120.0, name: str = "runner",
                 startup_timeout_s: float = STARTUP_TIMEOUT_S):
        if not argv:
            raise ValueError("RunnerClient needs the runner's command line")
        self.argv = [str(a) for a in argv]
        self.env = env
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.name = name
        self.calls = 0  # generate requests answered
        self.restarts = 0  # times a dead or stuck runner was replaced
        self.reference = False  # True for backends whose results are reference only (cloud); set by the factory
        self.backend: Backend | None = None  # from the last probe
        self._tail: deque[str] = deque(maxlen=400)
        self._log = logging.getLogger(f"loop.runners.{name}")
        self._lock = threading.RLock()
        self._process: _Process | None = None
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> RunnerClient:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return self._process.proc.pid if self._process else None

    def stderr_tail(self, lines: int = 40) -> list[str]:
        return list(self._tail)[-lines:]

    def start(self) -> None:
        """Spawn the runner (if not running) and wait for it to answer a probe."""
        with self._lock:
            if self._closed:
                raise RunnerError("closed", f"{self.name}: the client was closed")
            if self._process and self._process.alive():
                return
            self._spawn()

    def _spawn(self) -> None:
        if self._process:
            self._process.stop(graceful=False)
        try:
            self._process = _Process(self.argv, self.env, self.name, self._tail, self._log)
        except OSError as exc:
            raise RunnerError("runner_exited", f"{self.name}: cannot start {self.argv[0]}: {exc}") from None
        handshake = Request(id=f"handshake-{uuid.uuid4().hex[:8]}", op="probe")
        try:
            response = self._exchange(handshake.to_line(), handshake.id, self.startup_timeout_s)
        except _Dead as exc:
            self._process.stop(graceful=False)
            self._process = None
            raise RunnerError(exc.code, f"{self.name} did not start ({exc.message}); {self._tail_text()}",
                              retryable=True) from None
        self.backend = response.backend

    def close(self) -> None:
        """Ask the runner to shut down, then terminate it if it does not."""
        with self._lock:
            self._closed = True
            if self._process:
                self._process.stop(graceful=True)
                self._process = None

    # --- requests --------------------------------------------------------------------------------
    def probe(self) -> Backend:
        """The runner's backend; `available` is False (with `reason`) when the runner cannot serve."""
        response = self.call(Request(id=f"probe-{uuid.uuid4().hex[:8]}", op="probe"))
        backend = response.backend
        if not response.ok and response.error and backend.available is None:
            backend = backend.model_copy(update={"available": False, "reason": response.error.message})
        self.backend = backend
        return backend

    def call(self, request: Request) -> Response:
        """Send one request and return the validated response (ok or a protocol error).

        Raises RunnerError when the runner dies or times out twice, or answers something invalid.
        A request's own timeout_s is known to the runner, which answers a `timeout` error itself; the
        client then waits RUNNER_TIMEOUT_GRACE_S longer before it gives up on the process."""
        timeout = request.timeout_s + RUNNER_TIMEOUT_GRACE_S if request.timeout_s else self.timeout_s
        with self._lock:
            if request.op == "generate":
                self.check_schema(request)
            response = self._with_restart(request.to_line(), request.id, timeout)
            if request.op == "generate":
                self.calls += 1
            return response

    @property
    def dialect(self) -> SchemaDialect | None:
        """The schema dialect the runner's probe reports (starting the runner if needed); None = unknown."""
        if self.backend is None:
            self.start()
        return dialect_for(self.backend)

    def check_schema(self, request: Request) -> None:
        """Raise SchemaDialectError when a json_schema request uses a keyword outside the dialect."""
        if not request.output or request.output.kind != "json_schema" or request.output.schema_ is None:
            return
        dialect = self.dialect
        violation = dialect.first_violation(request.output.schema_) if dialect else None
        if violation:
            raise SchemaDialectError(dialect.name, violation.keyword, violation.path,
                                     f"{self.name}: {violation.message(dialect.name)}")

    def call_raw(self, line: str, timeout_s: float | None = None) -> Response:
        """Diagnostics and tests: write one raw line and return the next response, whatever its id."""
        with self._lock:
            self.start()
            try:
                return self._exchange(line, None, timeout_s or self.timeout_s, any_id=True)
            except _Dead as exc:
                self._process.stop(graceful=False)
                self._process = None
                raise RunnerError(exc.code, f"{self.name}: {exc.message}; {self._tail_text()}", retryable=True) from None

    def _with_restart(self, line: str, request_id: str, timeout: float) -> Response:
        for attempt in (1, 2):
            try:
                self.start()
                return self._exchange(line, request_id, timeout)
            except _Dead as exc:
                self._log.warning("%s: %s (attempt %d); restarting", self.name, exc.message, attempt)
                if self._process:
                    self._process.stop(graceful=False)
                    self._process = None
                if attempt == 2:
                    raise RunnerError(exc.code, f"{self.name}: {exc.message} after one restart; "
                                                f"{self._tail_text()}", retryable=True) from None
                self.restarts += 1
        raise AssertionError("unreachable")

    def _exchange(self, line: str, request_id: str | None, timeout: float, any_id: bool = False) -> Response:
        process = self._process
        if process is None:
            raise _Dead("runner_exited", "the runner is not running")
        deadline = time.monotonic() + timeout
        process.send(line)
        while True:
            raw = process.receive(deadline)
            if not raw.strip():
                continue
            response = self._parse(raw)
            if any_id or response.id == request_id or (response.id is None and not response.ok):
                return response
            self._log.warning("%s: dropping a stale response for id %r", self.name, response.id)

    def _parse(self, raw: str) -> Response:
        try:
            return Response.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(line)"
            raise RunnerError("bad_response", f"{self.name} answered a line that is not a pipeline-gen/1 "
                                              f"response ({where}: {first['msg']}): {raw[:200]!r}") from None

    def _tail_text(self) -> str:
        tail = self.stderr_tail(8)
        return "runner stderr: " + (" | ".join(tail) if tail else "(empty)")


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment plus `extra`: a convenient `env=` for RunnerClient."""
    env = dict(os.environ)
    env.update(extra or {})
    return env
