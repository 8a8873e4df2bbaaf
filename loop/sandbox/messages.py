"""The JSON-lines conversation between the trusted parent and a sandboxed pipeline worker.

parent -> worker: {"op": "case", "task"} | {"op": "model_result", "response"} | {"op": "model_error", ...}
worker -> parent: {"op": "ready"} | {"op": "load_error", "message", "traceback"}
                  {"op": "model_call", "request"} | {"op": "trace", "event"}
                  {"op": "result", "answer"} | {"op": "error", "message", "traceback"}
Everything the worker says is untrusted: the parent validates it with these models.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loop.runners.protocol import Adapter, Sampling


class ModelCallRequest(BaseModel):
    """The keyword arguments of one `model.respond(...)` call made inside the worker."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    prompt: str
    instructions: str | None = None
    sampling: Sampling | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    max_output_tokens: int | None = Field(default=None, ge=1)
    adapter: Adapter | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    label: str | None = Field(default=None, max_length=200)


class StepEvent(BaseModel):
    """A deterministic step the pipeline reports; the parent forces kind='step'."""

    model_config = ConfigDict(extra="ignore")
    label: str = Field(max_length=200)
    latency_ms: float | None = None
    detail: Any = None


class WorkerMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    op: Literal["ready", "load_error", "model_call", "trace", "result", "error"]
    request: dict[str, Any] | None = None
    event: dict[str, Any] | None = None
    answer: Any = None
    message: str | None = None
    exc_type: str | None = None  # the class name of what the pipeline raised (error, load_error)
    traceback: str | None = None


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), default=str) + "\n"
