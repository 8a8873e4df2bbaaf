"""The exact instructions and prompt the pipeline's single guided call sends, rendered by the
pipeline's own code: the workspace's `generate` runs in the sandbox (as in an evaluation) against a
capturing stand-in for the runner, which records the request and answers with the example's answer in
the JSON shape the request's schema forces. The pipeline parsing that answer proves the shape fits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loop.runners.protocol import Backend, Request, Response, Timing, Usage
from loop.schemas import Answer

if TYPE_CHECKING:
    from loop.adapters.store import AdapterStore

CAPTURE_BACKEND = Backend(name="replay", model="training-render", model_version=None, os_build=None,
                          adapter_signature=None, available=True)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer_json(answer: Answer, schema: dict | None) -> str:
    """The answer as the JSON text the pipeline's schema forces (array style or q1..qN slots)."""
    props = (schema or {}).get("properties", {})
    if "questions" in props or not props:
        data = {"title": answer.title, "questions": list(answer.questions)}
    else:
        data = {"title": answer.title, **{f"q{i + 1}": q for i, q in enumerate(answer.questions)}}
    return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class RenderedCall:
    instructions: str | None
    prompt: str
    schema: dict | None
    answer_text: str  # the assistant turn: the answer as the schema's JSON
    calls: int  # model calls the pipeline made for this task (SFT data needs exactly one)
    error: str | None


class CapturingClient:
    """Stands in for a RunnerClient: records each generate request, answers with `self.answer`."""

    def __init__(self):
        self.answer: Answer | None = None
        self.requests: list[Request] = []
        self.calls = 0

    def probe(self) -> Backend:
        return CAPTURE_BACKEND

    def call(self, request: Request) -> Response:
        self.requests.append(request)
        self.calls += 1
        schema = request.output.schema_ if request.output and request.output.kind == "json_schema" else None
        text = answer_json(self.answer, schema)
        return Response(id=request.id, ok=True, text=text, json=json.loads(text) if schema else None,
                        usage=Usage(), timing=Timing(latency_ms=0.0), backend=CAPTURE_BACKEND)

    def close(self) -> None:
        pass


class PipelineRenderer:
    """Context manager: one sandboxed pipeline worker rendering the guided call for many tasks."""

    def __init__(self, workspace: Path, *, sandbox: str = "auto", case_timeout_s: float = 60.0,
                 adapter_store: AdapterStore | None = None):
        self.workspace, self.sandbox, self.case_timeout_s = Path(workspace), sandbox, case_timeout_s
        self.adapter_store = adapter_store
        self.client = CapturingClient()

    def __enter__(self) -> "PipelineRenderer":
        from loop.sandbox.session import PipelineSession

        self.session = PipelineSession(self.workspace, self.client, case_timeout_s=self.case_timeout_s,
                                       sandbox=self.sandbox, adapter_store=self.adapter_store).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.session.close()

    def render(self, task: str, answer: Answer) -> RenderedCall:
        self.client.answer, self.client.requests = answer, []
        result = self.session.run_case(task)
        requests = list(self.client.requests)
        if not requests:
            return RenderedCall(None, "", None, "", 0, result.error or "the pipeline made no model call")
        first = requests[0]
        schema = first.output.schema_ if first.output and first.output.kind == "json_schema" else None
        return RenderedCall(first.instructions, first.prompt or "", schema, answer_json(answer, schema),
                            len(requests), result.error)
