"""`DirectModel`: the in-process `model` handle a pipeline gets; one `respond()` = one runner call.

Every call emits one trace event through `on_call` (see docs/ARCHITECTURE.md, Runner):
{"kind": "model"|"adapter", "label", "instructions", "prompt", "sampling", "adapter", "schema": bool,
 "text", "input_tokens", "output_tokens", "latency_ms", "ok", "error"}.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from loop.runners.client import RunnerClient, RunnerError
from loop.runners.dialect import SchemaDialect
from loop.runners.protocol import Adapter, Output, Request, Response, Sampling


class ModelCallError(RuntimeError):
    """A model call did not produce an answer. `code` is the protocol error code (or the client's)."""

    def __init__(self, code: str, message: str, retryable: bool = False, response: Response | None = None):
        super().__init__(f"model call failed ({code}): {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.response = response


class DirectModel:
    def __init__(self, client: RunnerClient, on_call: Callable[[dict], None] | None = None):
        self.client = client
        self.on_call = on_call

    @property
    def dialect(self) -> SchemaDialect | None:
        """The schema dialect of the runner behind this handle (from its probe); None = unknown."""
        return self.client.dialect

    def respond(self, prompt: str, *, instructions: str | None = None, sampling: dict | Sampling | None = None,
                schema: dict | None = None, max_output_tokens: int | None = None,
                adapter: dict | Adapter | None = None, timeout_s: float | None = None,
                label: str | None = None) -> Response:
        sampling_model = Sampling.model_validate(sampling) if isinstance(sampling, dict) else sampling
        adapter_model = Adapter.model_validate(adapter) if isinstance(adapter, dict) else adapter
        request = Request(
            id=uuid.uuid4().hex, op="generate", instructions=instructions, prompt=prompt,
            sampling=sampling_model or Sampling(mode="greedy"), max_output_tokens=max_output_tokens, adapter=adapter_model,
            output=Output(kind="json_schema", schema=schema) if schema is not None else Output(kind="text"),
            timeout_s=timeout_s,
        )
        started = time.perf_counter()
        try:
            response = self.client.call(request)
        except RunnerError as exc:
            self._emit(request, label, None, (time.perf_counter() - started) * 1000, f"{exc.code}: {exc.message}")
            raise ModelCallError(exc.code, exc.message, exc.retryable) from exc
        error = f"{response.error.code}: {response.error.message}" if response.error else None
        self._emit(request, label, response, response.timing.latency_ms, error)
        if not response.ok:
            code, message, retryable = ((response.error.code, response.error.message, response.error.retryable)
                                        if response.error else ("internal", "runner answered ok=false without error", False))
            raise ModelCallError(code, message, retryable, response)
        return response

    def _emit(self, request: Request, label: str | None, response: Response | None,
              latency_ms: float | None, error: str | None) -> None:
        if self.on_call is None:
            return
        usage = response.usage if response else None
        event: dict[str, Any] = {
            "kind": "adapter" if request.adapter else "model",
            "label": label,
            "instructions": request.instructions,
            "prompt": request.prompt,
            "sampling": request.sampling.model_dump(mode="json") if request.sampling else None,
            "adapter": request.adapter.model_dump(mode="json") if request.adapter else None,
            "schema": request.output is not None and request.output.kind == "json_schema",
            "text": response.text if response else None,
            "input_tokens": usage.input_tokens if usage else None,
            "output_tokens": usage.output_tokens if usage else None,
            "latency_ms": latency_ms,
            "ok": bool(response and response.ok),
            "error": error,
        }
        self.on_call(event)
