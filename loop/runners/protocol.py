"""pipeline-gen/1 as pydantic models. The JSON Schema in native/protocol/ is the source of truth;
tests/runners/test_protocol_schema.py checks these models against it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL = "pipeline-gen/1"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "native" / "protocol" / "pipeline-gen-1.schema.json"

ErrorCode = Literal[
    "bad_request", "unknown_op", "unsupported_schema", "adapter_not_found", "adapter_invalid",
    "model_unavailable", "model_hash_mismatch", "context_overflow", "guardrail", "refusal",
    "decoding_failure", "rate_limited", "timeout", "unsupported_language", "internal",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sampling(_Strict):
    mode: Literal["greedy", "random"]  # required, as in the schema: a request never samples by accident
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_k: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = Field(default=None, ge=0)

    @property
    def deterministic(self) -> bool:
        return self.mode == "greedy"


class Adapter(_Strict):
    path: str = Field(min_length=1)
    format: Literal["gguf-lora", "fmadapter"]
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")  # content digest: runners cache by it


class Output(_Strict):
    kind: Literal["text", "json_schema"] = "text"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Request(_Strict):
    id: str = Field(min_length=1)
    op: Literal["probe", "generate", "shutdown"]
    instructions: str | None = None
    prompt: str | None = None
    sampling: Sampling | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    adapter: Adapter | None = None
    output: Output | None = None
    timeout_s: float | None = Field(default=None, gt=0)

    def to_line(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), separators=(",", ":"))


class Usage(_Strict):
    input_tokens: int | None = None
    output_tokens: int | None = None


class Timing(_Strict):
    latency_ms: float | None = None


class Backend(_Strict):
    name: Literal["apple", "llama", "cloud", "mock", "replay"]
    model: str | None = None
    model_version: str | None = None
    os_build: str | None = None
    adapter_signature: str | None = None
    available: bool | None = None
    reason: str | None = None
    adapter_loads: int | None = Field(default=None, ge=0)  # adapters loaded by this runner process


class ProtocolError(_Strict):
    code: ErrorCode
    message: str
    retryable: bool = False


class Response(_Strict):
    id: str | None
    ok: bool
    text: str | None = None
    json_: Any = Field(default=None, alias="json")
    usage: Usage | None = None
    timing: Timing = Field(default_factory=Timing)
    backend: Backend
    error: ProtocolError | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_line(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), separators=(",", ":"))


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())
