"""DirectModel: requests it builds, the trace event of every call, ModelCallError on failure."""

from __future__ import annotations

import pytest

from loop.runners.client import RunnerClient
from loop.runners.model import DirectModel, ModelCallError

from .conftest import ANSWER_SCHEMA, replay_argv

EVENT_KEYS = {"kind", "label", "instructions", "prompt", "sampling", "adapter", "schema", "text",
              "input_tokens", "output_tokens", "latency_ms", "ok", "error"}


@pytest.fixture(scope="module")
def client():
    with RunnerClient(replay_argv(), name="model-test") as c:
        yield c


def test_a_schema_call_returns_json_and_traces_one_model_event(client):
    events: list[dict] = []
    model = DirectModel(client, on_call=events.append)
    response = model.respond("Task: plan a picnic", instructions="Ask questions.", schema=ANSWER_SCHEMA,
                             sampling={"mode": "random", "temperature": 0.7, "seed": 3}, label="draft")
    assert len(response.json_["questions"]) == 7
    assert len(events) == 1
    event = events[0]
    assert set(event) == EVENT_KEYS
    assert event["kind"] == "model" and event["label"] == "draft" and event["schema"] is True
    assert event["instructions"] == "Ask questions." and event["prompt"] == "Task: plan a picnic"
    assert event["sampling"]["mode"] == "random" and event["sampling"]["seed"] == 3
    assert event["ok"] is True and event["error"] is None and event["text"] == response.text
    assert event["latency_ms"] is not None


def test_a_text_call_has_no_json_and_schema_false(client):
    events: list[dict] = []
    response = DirectModel(client, on_call=events.append).respond("Task: fix the bike")
    assert response.json_ is None and response.text
    assert events[0]["schema"] is False and events[0]["sampling"]["mode"] == "greedy"


def test_a_failed_call_raises_and_is_traced_as_an_adapter_call(client, tmp_path):
    events: list[dict] = []
    model = DirectModel(client, on_call=events.append)
    with pytest.raises(ModelCallError) as info:
        model.respond("Task: x", adapter={"path": str(tmp_path / "missing.gguf"), "format": "gguf-lora"},
                      label="tuned")
    assert info.value.code == "adapter_not_found" and info.value.response is not None
    assert "missing.gguf" in str(info.value)
    event = events[0]
    assert event["kind"] == "adapter" and event["ok"] is False
    assert event["error"].startswith("adapter_not_found:")
    assert event["adapter"]["path"].endswith("missing.gguf")


def test_a_runner_failure_becomes_a_model_call_error(tmp_path):
    events: list[dict] = []
    with RunnerClient(replay_argv("--delay-ms", "3000"), timeout_s=0.3, name="model-slow") as slow:
        with pytest.raises(ModelCallError) as info:
            DirectModel(slow, on_call=events.append).respond("Task: x")
    assert info.value.code == "timeout" and info.value.retryable
    assert events[0]["ok"] is False and events[0]["error"].startswith("timeout:")


def test_invalid_sampling_is_rejected_before_any_call(client):
    before = client.calls
    with pytest.raises(ValueError):
        DirectModel(client).respond("x", sampling={"mode": "greedy", "temperature": 9})
    assert client.calls == before
