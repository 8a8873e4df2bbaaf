"""The cloud runner against a local scripted Anthropic-compatible server (127.0.0.1 only)."""

from __future__ import annotations

import json
import sys
import uuid

import pytest

from loop.runners.client import RunnerClient, environment
from loop.runners.protocol import Output, Request, Sampling

from tests.support import anthropic_server

from .conftest import ANSWER_SCHEMA

ANSWER = {"title": "Trip to Paris", "questions": [f"Question {i}?" for i in range(7)]}


def cloud(server, *extra):
    argv = [sys.executable, "-m", "loop.runners.cloud_server", "serve", "--model", "claude-test-1", "--max-retries", "0", *extra]
    env = environment({"ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "dummy"})
    return RunnerClient(argv, env=env, timeout_s=30, name="cloud-test")


def request(**fields):
    return Request(id=uuid.uuid4().hex, op="generate", prompt="Task: plan a trip to Paris", **fields)


@pytest.fixture(scope="module")
def scripted():
    """One scripted server and one cloud runner for the module; tests set `script["reply"]`."""
    script = {"reply": anthropic_server.Reply()}
    with anthropic_server.ScriptedAnthropicServer(lambda body: script["reply"]) as server, cloud(server) as client:
        yield script, server, client


def test_structured_output_goes_through_output_config(scripted):
    script, server, client = scripted
    script["reply"] = anthropic_server.Reply(content=[{"type": "text", "text": json.dumps(ANSWER)}],
                                             usage={"input_tokens": 42, "output_tokens": 77})
    response = client.call(request(instructions="Be brief.", max_output_tokens=500,
                                   output=Output(kind="json_schema", schema=ANSWER_SCHEMA)))
    assert response.ok and response.json_ == ANSWER
    assert response.usage.input_tokens == 42 and response.usage.output_tokens == 77
    assert response.backend.name == "cloud" and response.backend.model == "claude-test-1"
    body = server.requests[-1]
    assert body["model"] == "claude-test-1" and body["max_tokens"] == 500
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "Task: plan a trip to Paris"}]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}}


def test_sampling_is_not_sent_because_the_sdk_has_no_such_arguments(scripted):
    script, server, client = scripted
    script["reply"] = anthropic_server.Reply(content=[{"type": "text", "text": "ok"}])
    response = client.call(request(sampling=Sampling(mode="random", temperature=0.6, top_p=0.9, seed=4)))
    assert response.ok and response.text == "ok" and response.json_ is None
    body = server.requests[-1]
    assert not {"temperature", "top_p", "top_k", "output_config"} & set(body)


@pytest.mark.parametrize("status,error_type,code,retryable", [
    (429, "rate_limit_error", "rate_limited", True),
    (401, "authentication_error", "model_unavailable", False),
    (529, "overloaded_error", "model_unavailable", True),
    (400, "invalid_request_error", "bad_request", False),
])
def test_api_errors_become_protocol_errors(scripted, status, error_type, code, retryable):
    script, server, client = scripted
    script["reply"] = anthropic_server.Reply(status=status, error_type=error_type)
    pid = client.pid
    for _ in range(2):  # and it keeps serving
        response = client.call(request())
        assert not response.ok and response.error.code == code and response.error.retryable is retryable
        assert str(status) in response.error.message
    assert client.pid == pid


def test_a_reply_that_is_not_json_for_a_schema_is_a_decoding_failure(scripted):
    script, server, client = scripted
    script["reply"] = anthropic_server.Reply(content=[{"type": "text", "text": "Sure! Here"}], stop_reason="max_tokens")
    response = client.call(request(output=Output(kind="json_schema", schema=ANSWER_SCHEMA)))
    assert response.error.code == "decoding_failure" and "max_tokens" in response.error.message
    assert response.text == "Sure! Here"


def test_adapters_are_refused(scripted):
    script, server, client = scripted
    before = len(server.requests)
    response = client.call(request(adapter={"path": "/a.gguf", "format": "gguf-lora"}))
    assert response.error.code == "adapter_invalid" and len(server.requests) == before


def test_without_credentials_the_probe_says_unavailable():
    env = {k: v for k, v in environment().items() if not k.startswith("ANTHROPIC_")}
    argv = [sys.executable, "-m", "loop.runners.cloud_server", "serve", "--model", "claude-test-1"]
    with RunnerClient(argv, env=env, name="cloud-nokey") as client:
        backend = client.probe()
        assert backend.available is False and "ANTHROPIC_API_KEY" in backend.reason
        assert client.call(request()).error.code == "model_unavailable"
