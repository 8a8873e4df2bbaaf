"""A runner that replays fixed answers: for tests, benchmarks and offline demos.

    python -m loop.runners.replay_server serve [--answers FILE.json] [--delay-ms N]

`--answers` maps task text -> {"title", "questions"}. A generate request whose prompt contains a task
text (the longest match wins) gets that answer; any other prompt gets a deterministic generic answer
derived from the prompt: a title and distinct questions, 7 of them unless a json_schema output's
`questions` minItems/maxItems ask otherwise. The answer is returned as compact JSON text, and also as
`json` when the output kind is json_schema. Output is the same for greedy and random sampling.
Each generate sleeps `--delay-ms` first (a request's timeout_s shorter than that -> a timeout error).
Token counts are unknown here and so are null. An adapter path that does not exist is refused
(adapter_not_found) like on a real runner; an existing one is only fingerprinted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
import time
from pathlib import Path

from loop.runners.protocol import Backend, Request, Response, Timing
from loop.runners.serve_loop import error_response, run_cli

TEMPLATES = (
    "What is the budget for {t}?",
    "By when does {t} need to be done?",
    "Who else is involved in {t}, and who decides?",
    "What does a successful outcome of {t} look like?",
    "What constraints or must-haves apply to {t}?",
    "What has already been tried or decided about {t}?",
    "What are the biggest risks you see in {t}?",
    "Which resources or tools are available for {t}?",
    "How much of your own time can you put into {t}?",
)


def _short(task: str) -> str:
    words = re.sub(r"\s+", " ", task).strip().rstrip(".?!").split(" ")
    return " ".join(words[:12]) or "this task"


def generic_answer(prompt: str, count: int = 7) -> dict:
    """A deterministic title + `count` distinct questions about the prompt's last non-empty line."""
    lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    topic = _short(lines[-1] if lines else prompt)
    lowered = topic[0].lower() + topic[1:] if topic else topic
    questions = []
    for i in range(count):
        base = TEMPLATES[i % len(TEMPLATES)].format(t=lowered)
        questions.append(base if i < len(TEMPLATES) else f"{base[:-1]} (part {i // len(TEMPLATES) + 1})?")
    return {"title": topic[:1].upper() + topic[1:], "questions": questions}


def questions_bounds(schema: dict | None) -> tuple[int, int | None]:
    """minItems/maxItems of the schema's `questions` array (0, None when absent)."""
    prop = ((schema or {}).get("properties") or {}).get("questions") or {}
    return int(prop.get("minItems", 0)), (int(prop["maxItems"]) if "maxItems" in prop else None)


def fit(answer: dict, schema: dict | None) -> dict:
    """Trim or extend an answer's questions to honour the schema's bounds."""
    low, high = questions_bounds(schema)
    questions = list(answer.get("questions", []))
    if high is not None:
        questions = questions[:high]
    if len(questions) < low:
        extra = [q for q in generic_answer(answer.get("title", "this task"), low + len(questions))["questions"]
                 if q not in questions]
        questions += extra[: low - len(questions)]
    return {"title": answer.get("title", ""), "questions": questions}


class ReplayBackend:
    def __init__(self, answers: Path | None = None, delay_ms: float = 0.0):
        self.delay_s = max(delay_ms, 0.0) / 1000
        self.answers: dict[str, dict] = {}
        self.version = "generic"
        self.model = "replay-generic"
        if answers:
            raw = Path(answers).read_bytes()
            self.answers = _load_answers(Path(answers), raw)
            self.version = hashlib.sha256(raw).hexdigest()[:12]
            self.model = Path(answers).name
        self._tasks = sorted(self.answers, key=len, reverse=True)

    def backend(self, adapter_signature: str | None = None) -> Backend:
        return Backend(name="replay", model=self.model, model_version=self.version, os_build=platform.platform(),
                       adapter_signature=adapter_signature, available=True)

    def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        signature = None
        if request.adapter:
            path = Path(request.adapter.path)
            if not path.is_file():
                return error_response(request.id, self.backend(), "adapter_not_found",
                                      f"adapter file {request.adapter.path} does not exist")
            signature = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        backend = self.backend(signature)
        if request.timeout_s is not None and request.timeout_s < self.delay_s:
            time.sleep(request.timeout_s)
            return error_response(request.id, backend, "timeout", f"replay delay {self.delay_s:g}s is longer than "
                                  f"the request's timeout_s={request.timeout_s:g}", retryable=True,
                                  latency_ms=_ms(started))
        time.sleep(self.delay_s)
        prompt = request.prompt or ""
        schema = request.output.schema_ if request.output and request.output.kind == "json_schema" else None
        task = next((t for t in self._tasks if t in prompt), None)
        low, high = questions_bounds(schema)
        count = min(max(7, low), high) if high is not None else max(7, low)
        answer = fit(self.answers[task], schema) if task else generic_answer(prompt, count)
        text = json.dumps(answer, ensure_ascii=False)
        return Response(id=request.id, ok=True, text=text, json=answer if schema is not None else None,
                        usage=None, timing=Timing(latency_ms=_ms(started)), backend=backend)


def _load_answers(path: Path, raw: bytes) -> dict[str, dict]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{path}:{exc.lineno}: answers file is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: answers file must map task text to {{title, questions}}")
    for task, answer in data.items():
        if not (isinstance(answer, dict) and isinstance(answer.get("title"), str)
                and isinstance(answer.get("questions"), list)):
            raise SystemExit(f"{path}: the answer for {task[:60]!r} needs a string title and a questions list")
    return data


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", type=Path, default=None, help="JSON file: task text -> {title, questions}")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="sleep this long per generate (default 0)")


def main(argv: list[str] | None = None) -> int:
    return run_cli("pipeline-gen/1 replay runner", _arguments,
                   lambda a: ReplayBackend(a.answers, a.delay_ms), argv)


if __name__ == "__main__":
    sys.exit(main())
