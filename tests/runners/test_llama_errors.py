"""Bad input to the llama runner: each gives a protocol error with a clear code and message, and the same
runner process answers the next request."""

from __future__ import annotations

import uuid

import pytest

from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter, Output, Request

from .conftest import llama_argv

pytestmark = pytest.mark.slow


def generate(prompt: str = "Say hi.", **fields) -> Request:
    return Request(id=uuid.uuid4().hex, op="generate", prompt=prompt, max_output_tokens=4, **fields)


@pytest.fixture
def still_serving(llama):
    """Checks after the test that the same process answers a normal request."""
    pid = llama.pid
    restarts = llama.restarts
    yield llama
    assert llama.call(generate()).ok
    assert llama.pid == pid and llama.restarts == restarts


def test_malformed_line_is_a_bad_request(still_serving):
    response = still_serving.call_raw('{"id": "x", "op": "generate", "prompt": ')
    assert not response.ok and response.id is None
    assert response.error.code == "bad_request" and "not JSON" in response.error.message


def test_a_request_that_is_not_an_object_is_a_bad_request(still_serving):
    response = still_serving.call_raw("[1, 2, 3]")
    assert response.error.code == "bad_request" and "JSON object" in response.error.message


def test_unknown_op(still_serving):
    response = still_serving.call_raw('{"id": "op-1", "op": "dance"}')
    assert response.id == "op-1" and response.error.code == "unknown_op"
    assert "'dance'" in response.error.message


def test_invalid_fields_name_the_field(still_serving):
    response = still_serving.call_raw('{"id": "f-1", "op": "generate", "prompt": "x", "sampling": {"mode": "wild"}}')
    assert response.id == "f-1" and response.error.code == "bad_request"
    assert "sampling.mode" in response.error.message


@pytest.mark.parametrize("schema", [{"type": "foo"}, {"type": "object", "properties": {"a": {"$ref": "https://x.test/s"}}}])
def test_a_schema_the_grammar_cannot_compile(still_serving, schema):
    response = still_serving.call(generate(output=Output(kind="json_schema", schema=schema)))
    assert not response.ok and response.error.code == "unsupported_schema"
    assert "grammar" in response.error.message


def test_an_adapter_that_does_not_exist(still_serving, tmp_path):
    missing = tmp_path / "nope.gguf"
    response = still_serving.call(generate(adapter=Adapter(path=str(missing), format="gguf-lora")))
    assert response.error.code == "adapter_not_found" and str(missing) in response.error.message


def test_an_adapter_of_the_wrong_format(still_serving, tmp_path):
    response = still_serving.call(generate(adapter=Adapter(path=str(tmp_path), format="fmadapter")))
    assert response.error.code == "adapter_invalid" and "gguf-lora" in response.error.message


def test_an_adapter_file_that_is_not_a_lora(still_serving, tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all")
    response = still_serving.call(generate(adapter=Adapter(path=str(junk), format="gguf-lora")))
    assert response.error.code == "adapter_invalid" and "junk.gguf" in response.error.message


def test_a_model_file_with_the_wrong_hash_is_refused(smollm2_path):
    wrong = "0" * 64
    with RunnerClient(llama_argv(smollm2_path, "--sha256", wrong), timeout_s=60, name="wrong-hash") as client:
        backend = client.probe()
        assert backend.available is False and wrong in backend.reason and "refusing" in backend.reason
        for _ in range(2):
            response = client.call(generate())
            assert not response.ok and response.error.code == "model_hash_mismatch"
            assert smollm2_path.name in response.error.message
        assert client.restarts == 0 and client.calls == 2


def test_a_missing_model_file_is_unavailable(tmp_path):
    with RunnerClient(llama_argv(tmp_path / "absent.gguf"), timeout_s=60, name="no-model") as client:
        assert client.probe().available is False
        response = client.call(generate())
        assert response.error.code == "model_unavailable" and "absent.gguf" in response.error.message
