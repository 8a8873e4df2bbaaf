"""The built Swift fm-runner binary speaks pipeline-gen/1: every response line validates against the
protocol JSON Schema, errors keep the process serving, and `probe` with the default (apple) backend
answers available=false with a reason where FoundationModels does not exist.

Builds nothing: uses native/.build/release/fm-runner (or the debug build) when present.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from loop.runners.protocol import load_schema
from loop.schemas import answer_json_schema

NATIVE = Path(__file__).resolve().parents[2] / "native"
CANDIDATES = [NATIVE / ".build" / "release" / "fm-runner", NATIVE / ".build" / "debug" / "fm-runner"]
binary = next((path for path in CANDIDATES if path.exists()), CANDIDATES[0])

pytestmark = pytest.mark.skipif(not binary.exists(), reason="fm-runner not built: run `make native`")

READ_TIMEOUT_S = 20.0
QUESTIONS_SCHEMA = answer_json_schema()


def _validator(definition: str) -> Draft202012Validator:
    schema = load_schema()
    return Draft202012Validator({**schema, "$ref": f"#/$defs/{definition}"})


RESPONSE = _validator("Response")
REQUEST = _validator("Request")


class Runner:
    """fm-runner serve as a subprocess; `ask` sends one line and returns the validated response."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([str(binary), "serve", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict:
        line = self.lines.get(timeout=READ_TIMEOUT_S)
        assert line is not None, f"fm-runner closed stdout; stderr: {self.proc.stderr.read()}"
        response = json.loads(line)
        RESPONSE.validate(response)
        return response

    def ask(self, request: dict | str) -> dict:
        if isinstance(request, dict):
            REQUEST.validate(request)
            request = json.dumps(request)
        self.send_raw(request)
        return self.read()

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=READ_TIMEOUT_S)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


@pytest.fixture
def mock_runner():
    runner = Runner("--backend", "mock")
    yield runner
    runner.close()


def generate(request_id: str, prompt: str = "Task: plan a trip to Paris", **fields) -> dict:
    request = {"id": request_id, "op": "generate", "prompt": prompt,
               "output": {"kind": "json_schema", "schema": QUESTIONS_SCHEMA}}
    request.update(fields)
    return request


def test_generate_answers_a_title_and_exactly_seven_distinct_questions(mock_runner):
    response = mock_runner.ask(generate("g1"))
    assert response["ok"] is True and response["error"] is None
    assert response["id"] == "g1"
    answer = response["json"]
    assert answer["title"] == "Plan a trip to Paris"
    assert len(answer["questions"]) == 7 and len(set(answer["questions"])) == 7
    assert json.loads(response["text"]) == answer
    assert response["backend"]["name"] == "mock" and response["backend"]["available"] is True
    assert response["usage"]["input_tokens"] > 0 and response["timing"]["latency_ms"] >= 0


def test_errors_are_answered_and_the_runner_keeps_serving(mock_runner):
    cases = [
        ("this is not json", None, "bad_request"),
        ('["an", "array"]', None, "bad_request"),
        (json.dumps({"id": "u1", "op": "dance"}), "u1", "unknown_op"),
        (json.dumps({"id": "b1", "op": "generate"}), "b1", "bad_request"),
        (json.dumps({"id": "b2", "op": "generate", "prompt": "x", "surprise": 1}), "b2", "bad_request"),
        (json.dumps(generate("s1", output={"kind": "json_schema", "schema": {"$ref": "#/$defs/X"}})), "s1",
         "unsupported_schema"),
        (json.dumps(generate("s2", output={"kind": "json_schema", "schema": {
            "type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}}})), "s2", "unsupported_schema"),
        (json.dumps(generate("a1", adapter={"path": "/no/such/adapter.fmadapter", "format": "fmadapter"})), "a1",
         "adapter_not_found"),
    ]
    for line, expected_id, code in cases:
        response = mock_runner.ask(line)
        assert response["ok"] is False, line
        assert response["id"] == expected_id, line
        assert response["error"]["code"] == code, line
        assert response["text"] is None and response["json"] is None
        assert mock_runner.proc.poll() is None, "the runner must keep serving after an error"
    assert mock_runner.ask(generate("after"))["ok"] is True


def test_blank_lines_are_skipped_and_shutdown_ends_the_process(mock_runner):
    mock_runner.send_raw("")
    assert mock_runner.ask({"id": "p1", "op": "probe"})["ok"] is True
    response = mock_runner.ask({"id": "bye", "op": "shutdown"})
    assert response["ok"] is True and response["id"] == "bye"
    assert mock_runner.proc.wait(timeout=READ_TIMEOUT_S) == 0


def test_greedy_and_seeded_random_are_repeatable(mock_runner):
    assert mock_runner.ask(generate("g1"))["json"] == mock_runner.ask(generate("g2"))["json"]
    seeded = {"mode": "random", "temperature": 0.8, "top_p": 0.9, "seed": 11}
    first = mock_runner.ask(generate("r1", sampling=seeded))["json"]
    assert mock_runner.ask(generate("r2", sampling=seeded))["json"] == first
    others = {json.dumps(mock_runner.ask(generate(f"s{seed}", sampling={**seeded, "seed": seed}))["json"])
              for seed in range(6)}
    assert len(others) > 1
    other_process = Runner("--backend", "mock")
    try:
        assert other_process.ask(generate("g3"))["json"] == mock_runner.ask(generate("g4"))["json"]
    finally:
        other_process.close()


def test_adapter_signature_is_reported(mock_runner, tmp_path):
    adapter = tmp_path / "demo.fmadapter"
    adapter.mkdir()
    (adapter / "metadata.json").write_text(json.dumps({"baseModelSignature": "9799725ff8e851184037110b422d891ad3b92ec1"}))
    response = mock_runner.ask(generate("ad", adapter={"path": str(adapter), "format": "fmadapter"}))
    assert response["ok"] is True
    assert response["backend"]["adapter_signature"] == "9799725ff8e851184037110b422d891ad3b92ec1"


def test_timeout_is_answered_in_time():
    runner = Runner("--backend", "mock", "--delay-ms", "3000")
    try:
        response = runner.ask(generate("t1", timeout_s=0.2))
        assert response["error"]["code"] == "timeout" and response["error"]["retryable"] is True
        assert response["timing"]["latency_ms"] < 2000
    finally:
        runner.close()


def test_once_answers_one_request():
    request = json.dumps({"id": "o1", "op": "generate", "prompt": "learn the cello"})
    done = subprocess.run([str(binary), "once", "--backend", "mock", "--request", request],
                          capture_output=True, text=True, timeout=READ_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    RESPONSE.validate(response)
    assert response["id"] == "o1" and response["text"].startswith("Learn the cello")


def test_probe_with_the_default_backend():
    done = subprocess.run([str(binary), "probe"], capture_output=True, text=True, timeout=READ_TIMEOUT_S)
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    response = json.loads(lines[0])
    RESPONSE.validate(response)
    assert response["backend"]["name"] == "apple"
    if sys.platform.startswith("linux"):
        assert done.returncode == 1
        assert response["ok"] is False
        assert response["backend"]["available"] is False
        assert "not available" in response["backend"]["reason"]
        assert response["error"]["code"] == "model_unavailable"
