"""PipelineSession: run the workspace's `generate(task, model)` case by case in ONE long-lived,
sandboxed worker process, while the trusted parent makes (and traces) every model call.

Pipeline faults never raise out of `run_case`: a hang past `case_timeout_s` kills and restarts the
worker ("timeout after N s"), an exception fails the case with its message, a wrong shape fails it
with `Answer.shape_problem()`; the next case runs normally. The one exception is a schema the runner
(or the runner client, by its dialect) refuses: that is bad input, not a measurement, so `run_case`
raises `SchemaRefused` (an InputError naming the workspace's pipeline.py, the keyword and its path).
Each case message carries the runner's schema dialect, which the worker's model handle exposes as
`model.dialect` (the sandbox cannot read native/).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from loop.case_failures import CaseFailure
from loop.sandbox.confine import REPO_ROOT, resolve_mode, worker_env, wrap_command
from loop.sandbox.messages import ModelCallRequest, StepEvent, WorkerMessage, encode
from loop.errors import InputError
from loop.schemas import Answer

if TYPE_CHECKING:
    from loop.adapters.store import AdapterStore

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 120.0
_EOF = object()
MAX_DETAIL_CHARS = 4000


class PipelineResult(BaseModel):
    answer: Answer | None
    error: str | None
    trace: list[dict]
    deterministic: bool  # every model call decoded greedily (safe to cache)
    model_calls: int
    latency_ms: float
    failure: CaseFailure | None = None  # how the case failed (loop/case_failures.py classifies it)


class _Worker:
    """One worker process and the threads draining its stdout/stderr."""

    def __init__(self, argv: list[str], env: dict, cwd: Path):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd, text=True,
                                     encoding="utf-8", start_new_session=True, bufsize=1)
        self.messages: queue.Queue = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.messages.put(line)
        self.messages.put(_EOF)

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())
            log.debug("pipeline worker: %s", line.rstrip())

    def send(self, message: dict) -> None:
        self.proc.stdin.write(encode(message))
        self.proc.stdin.flush()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.error("pipeline worker %s did not exit after SIGKILL", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def stderr_text(self, lines: int = 8) -> str:
        return " | ".join(list(self.stderr_tail)[-lines:])


class _CaseFailed(Exception):
    def __init__(self, message: str, kind: str, exc_type: str | None = None):
        super().__init__(message)
        self.failure = CaseFailure(kind=kind, exc_type=exc_type)


class SchemaRefused(InputError):
    """A model call's schema was refused (outside the backend's dialect): nothing may be scored."""


class PipelineSession:
    """Context manager: one sandboxed worker per evaluation; `run_case` per task."""

    def __init__(self, workspace: Path, client, *, case_timeout_s: float, sandbox: str = "auto",
                 unconfined: bool = False, adapter_store: AdapterStore | None = None):
        """`unconfined`: run without confinement when none works here (the user's --unconfined);
        otherwise that raises `UnconfinedRefused`. `self.mode` is the confinement the worker runs under."""
        from loop.adapters.resolve import AdapterResolver

        self.workspace = Path(workspace).resolve()
        self._adapters = AdapterResolver(self.workspace, adapter_store)  # pointer -> verified stored file
        self.case_timeout_s = float(case_timeout_s)
        self.mode = resolve_mode(sandbox, allow_unconfined=unconfined)
        self._client = client
        self._worker: _Worker | None = None
        self._load_error: str | None = None
        self._load_failure: CaseFailure | None = None
        self._home = Path(tempfile.mkdtemp(prefix="autoresearch-worker-"))
        self._lock = threading.Lock()
        self.restarts = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "PipelineSession":
        self._ensure_worker()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            if self._worker.alive():
                try:
                    self._worker.send({"op": "shutdown"})
                    self._worker.proc.wait(timeout=2)
                except (OSError, subprocess.TimeoutExpired, ValueError):
                    pass
            self._worker.kill()
            self._worker = None
        shutil.rmtree(self._home, ignore_errors=True)

    def _command(self) -> list[str]:
        home = Path("/tmp/home") if self.mode == "bwrap" else self._home
        command = [sys.executable, "-m", "loop.sandbox.worker", str(self.workspace)]
        self._env = worker_env(home, pythonpath=[REPO_ROOT])
        return wrap_command(self.mode, command, self.workspace, home)

    def _ensure_worker(self) -> None:
        """Start the worker if none is running; a pipeline that fails to import is remembered."""
        if self._load_error or (self._worker is not None and self._worker.alive()):
            return
        if self._worker is not None:
            self._worker.kill()
            self.restarts += 1
        argv = self._command()
        self._worker = _Worker(argv, self._env, self.workspace)
        try:
            first = self._worker.messages.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            first = None
        if first is _EOF or first is None:
            self._worker.kill()
            self._load_error = f"pipeline worker did not start: {self._worker.stderr_text()}"
            self._load_failure = CaseFailure(kind="sandbox_start")
            return
        message = WorkerMessage.model_validate_json(first)
        if message.op == "load_error":
            self._worker.kill()
            self._load_error = f"pipeline failed to load: {message.message}"
            self._load_failure = CaseFailure(kind="load_error", exc_type=message.exc_type)
            log.error("%s\n%s", self._load_error, message.traceback)

    # --- one case ----------------------------------------------------------------------------
    def run_case(self, task: str) -> PipelineResult:
        with self._lock:
            started = time.monotonic()
            trace: list[dict] = []
            answer, error, failure = None, None, None
            try:
                answer = self._run(task, trace, started + self.case_timeout_s)
                problem = answer.shape_problem()
                if problem:
                    error, failure = f"wrong shape: {problem}", CaseFailure(kind="shape")
            except _CaseFailed as failed:
                error, failure = str(failed), failed.failure
            except ValidationError as exc:
                error, failure = f"wrong shape: {_first_error(exc)}", CaseFailure(kind="shape")
            calls = [e for e in trace if e.get("kind") in ("model", "adapter")]
            refused = next((e["error"] for e in calls if (e.get("error") or "").startswith("unsupported_schema")), None)
            if refused:
                raise SchemaRefused(self.workspace / "pipeline.py", f"a model call's schema was refused: {refused}")
            return PipelineResult(
                answer=answer, error=error, trace=trace, model_calls=len(calls),
                deterministic=all(_is_greedy(e.get("sampling")) for e in calls),
                latency_ms=round((time.monotonic() - started) * 1000, 3), failure=failure)

    def _run(self, task: str, trace: list[dict], deadline: float) -> Answer:
        self._ensure_worker()
        if self._load_error:
            raise _CaseFailed(self._load_error, self._load_failure.kind, self._load_failure.exc_type)
        worker = self._worker
        try:
            worker.send({"op": "case", "task": task, "dialect": self._dialect()})
        except (OSError, ValueError):
            worker.kill()
            raise _CaseFailed(f"pipeline worker died: {worker.stderr_text()}", "worker_crashed") from None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                worker.kill()
                raise _CaseFailed(f"timeout after {self.case_timeout_s:g} s", "timeout")
            try:
                line = worker.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is _EOF:
                code = worker.proc.wait()
                raise _CaseFailed(f"pipeline worker crashed (exit code {code}): {worker.stderr_text()}",
                                  "worker_crashed")
            try:
                message = WorkerMessage.model_validate_json(line)
            except ValidationError:
                worker.kill()
                raise _CaseFailed(f"pipeline worker broke the protocol: {line[:200]!r}", "protocol") from None
            if message.op == "result":
                return Answer.model_validate(message.answer)
            if message.op == "error":
                log.info("pipeline raised: %s", message.traceback)
                raise _CaseFailed(f"pipeline raised {message.message}", "pipeline_raised", message.exc_type)
            if message.op == "trace":
                trace.append(_step_event(message.event))
            elif message.op == "model_call":
                reply = self._model_call(message.request, trace, deadline - time.monotonic())
                try:
                    worker.send(reply)
                except (OSError, ValueError):
                    pass  # the worker died meanwhile; EOF comes next

    def _dialect(self) -> dict | None:
        dialect = getattr(self._client, "dialect", None)
        return dialect.model_dump(mode="json") if dialect is not None else None

    def _model_call(self, raw: dict | None, trace: list[dict], remaining: float) -> dict:
        from loop.runners.model import DirectModel, ModelCallError

        try:
            request = ModelCallRequest.model_validate(raw or {})
            _check_adapter(request.adapter, self.workspace)
            if request.adapter is not None:
                request.adapter = self._adapters.resolve(request.adapter)
        except (ValidationError, ValueError) as exc:
            return {"op": "model_error", "code": "bad_request", "message": f"bad model call: {exc}"}
        timeout = max(0.1, min(request.timeout_s or remaining, remaining))
        try:
            response = DirectModel(self._client, on_call=trace.append).respond(
                request.prompt, instructions=request.instructions, sampling=request.sampling,
                schema=request.schema_, max_output_tokens=request.max_output_tokens,
                adapter=request.adapter, timeout_s=timeout, label=request.label)
        except ModelCallError as exc:  # the pipeline may handle it (retry, fall back)
            return {"op": "model_error", "code": exc.code, "message": exc.message, "retryable": exc.retryable}
        except Exception as exc:  # a bad request the runner's models refused, or a client fault
            return {"op": "model_error", "code": "internal", "message": f"{type(exc).__name__}: {exc}"}
        return {"op": "model_result", "response": response.model_dump(mode="json", by_alias=True)}


def _check_adapter(adapter, workspace: Path) -> None:
    """An adapter path is handed to the runner outside the sandbox: never let it point into ruler/."""
    if adapter is None:
        return
    path = Path(adapter.path)
    path = (path if path.is_absolute() else workspace / path).resolve()
    for ruler in {(REPO_ROOT / "ruler").resolve(), (workspace.parent / "ruler").resolve()}:
        if path.is_relative_to(ruler):
            raise ValueError(f"adapter path {adapter.path!r} points into {ruler}")
    adapter.path = str(path)


def _step_event(raw: dict | None) -> dict:
    try:
        step = StepEvent.model_validate(raw or {})
    except ValidationError as exc:
        return {"kind": "step", "label": "invalid step event", "latency_ms": None, "detail": str(exc)[:200]}
    detail = step.detail
    if len(json.dumps(detail, default=str)) > MAX_DETAIL_CHARS:
        detail = json.dumps(detail, default=str)[:MAX_DETAIL_CHARS] + "…"
    return {"kind": "step", "label": step.label, "latency_ms": step.latency_ms, "detail": detail}


def _is_greedy(sampling) -> bool:
    if sampling is None:
        return True
    mode = sampling.get("mode") if isinstance(sampling, dict) else getattr(sampling, "mode", None)
    return mode in (None, "greedy")


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "answer"
    return f"{where}: {first['msg']}"
