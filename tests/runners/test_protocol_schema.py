"""The pydantic protocol models against native/protocol/pipeline-gen-1.schema.json (the source of truth):
sample requests and responses of every shape validate under both, invalid ones fail under both, and the
enums agree. Live responses from the replay runner validate against the JSON Schema too."""

from __future__ import annotations

import json
import typing

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from loop.runners import protocol
from loop.runners.protocol import Request, Response

from .conftest import ANSWER_SCHEMA

SCHEMA = protocol.load_schema()
BACKEND = {"name": "llama", "model": "m.gguf", "model_version": "abc123def456", "os_build": "Linux",
           "adapter_signature": None}


def validator(name: str) -> Draft202012Validator:
    Draft202012Validator.check_schema(SCHEMA)
    return Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"})


REQUESTS = [
    {"id": "1", "op": "probe"},
    {"id": "2", "op": "shutdown"},
    {"id": "3", "op": "generate", "prompt": "p"},
    {"id": "4", "op": "generate", "instructions": "i", "prompt": "p", "sampling": {"mode": "greedy"},
     "max_output_tokens": 300, "adapter": None, "output": {"kind": "text", "schema": None}, "timeout_s": 30},
    {"id": "5", "op": "generate", "prompt": "p", "sampling": {"mode": "random", "temperature": 0.7, "top_k": 40,
                                                              "top_p": None, "seed": 1}},
    {"id": "6", "op": "generate", "prompt": "p", "sampling": {"mode": "random", "temperature": 1.0, "top_p": 0.9}},
    {"id": "7", "op": "generate", "prompt": "p", "adapter": {"path": "/a.gguf", "format": "gguf-lora"},
     "output": {"kind": "json_schema", "schema": ANSWER_SCHEMA}},
    {"id": "8", "op": "generate", "prompt": "p", "adapter": {"path": "/b.fmadapter", "format": "fmadapter"}},
    {"id": "9", "op": "generate", "prompt": "p", "adapter": {"path": "/c.gguf", "format": "gguf-lora", "sha256": "ab" * 32}},
]

BAD_REQUESTS = [
    {"op": "probe"},
    {"id": "", "op": "probe"},
    {"id": "1", "op": "dance"},
    {"id": "1", "op": "generate", "extra": 1},
    {"id": "1", "op": "generate", "sampling": {"mode": "random", "temperature": 3}},
    {"id": "1", "op": "generate", "sampling": {"mode": "random", "top_p": 0}},
    {"id": "1", "op": "generate", "max_output_tokens": 0},
    {"id": "1", "op": "generate", "adapter": {"path": "/a", "format": "safetensors"}},
    {"id": "1", "op": "generate", "adapter": {"path": "/a", "format": "gguf-lora", "sha256": "ABC"}},
    {"id": "1", "op": "generate", "output": {"kind": "xml"}},
    {"id": "1", "op": "generate", "timeout_s": 0},
]

RESPONSES = [
    {"id": "1", "ok": True, "text": "hello", "json": None, "usage": {"input_tokens": 5, "output_tokens": 2},
     "timing": {"latency_ms": 12.5}, "backend": BACKEND, "error": None},
    {"id": "2", "ok": True, "text": '{"title":"t","questions":[]}', "json": {"title": "t", "questions": []},
     "usage": {"input_tokens": None, "output_tokens": None}, "timing": {"latency_ms": None},
     "backend": {**BACKEND, "name": "apple", "adapter_signature": "0123456789ab", "available": True, "reason": None},
     "error": None},
    {"id": None, "ok": False, "text": None, "json": None, "usage": None, "timing": {"latency_ms": None},
     "backend": {**BACKEND, "name": "replay"}, "error": {"code": "bad_request", "message": "not JSON", "retryable": False}},
    {"id": "4", "ok": False, "text": "{\"ti", "json": None, "usage": {"input_tokens": 9, "output_tokens": 1024},
     "timing": {"latency_ms": 99.0}, "backend": {**BACKEND, "name": "mock"},
     "error": {"code": "decoding_failure", "message": "cut", "retryable": False}},
    {"id": "5", "ok": False, "text": None, "json": None, "usage": None, "timing": {"latency_ms": None},
     "backend": {**BACKEND, "name": "cloud", "available": False, "reason": "no key"},
     "error": {"code": "model_unavailable", "message": "no key", "retryable": True}},
    {"id": "6", "ok": True, "text": "[1]", "json": [1, "two", None], "usage": None, "timing": {"latency_ms": 1},
     "backend": BACKEND, "error": None},
]

BAD_RESPONSES = [
    {"id": "1", "ok": True},
    {**RESPONSES[0], "backend": {**BACKEND, "name": "gpu"}},
    {**RESPONSES[2], "error": {"code": "oops", "message": "m", "retryable": False}},
    {**RESPONSES[0], "timing": {"latency_ms": "fast"}},
    {**RESPONSES[0], "surplus": 1},
]


@pytest.mark.parametrize("sample", REQUESTS, ids=lambda s: s["id"])
def test_requests_valid_in_both(sample):
    validator("Request").validate(sample)
    model = Request.model_validate(sample)
    validator("Request").validate(json.loads(model.to_line()))  # what the client writes is valid too


@pytest.mark.parametrize("sample", BAD_REQUESTS, ids=str)
def test_requests_invalid_in_both(sample):
    assert list(validator("Request").iter_errors(sample))
    with pytest.raises(ValidationError):
        Request.model_validate(sample)


# The JSON Schema requires sampling.mode and so do the models: a request meant to sample but missing
# its mode must never decode greedily by accident. The Python runners also check each raw request
# against the JSON Schema first, so the error names the schema's complaint.
MISSING_MODE = {"id": "1", "op": "generate", "prompt": "p", "sampling": {"temperature": 0.5}}


def test_missing_sampling_mode_is_refused_everywhere():
    from loop.runners.replay_server import ReplayBackend
    from loop.runners.serve_loop import handle_line

    assert list(validator("Request").iter_errors(MISSING_MODE))
    with pytest.raises(ValidationError):
        Request.model_validate(MISSING_MODE)
    response, keep_serving = handle_line(json.dumps(MISSING_MODE), ReplayBackend())
    assert keep_serving and response.error.code == "bad_request"
    assert "sampling" in response.error.message and "mode" in response.error.message


@pytest.mark.parametrize("sample", RESPONSES, ids=lambda s: str(s["id"]))
def test_responses_valid_in_both(sample):
    validator("Response").validate(sample)
    model = Response.model_validate(sample)
    defaults = {name: None for name in protocol.Backend.model_fields}  # optional fields come back as null
    assert json.loads(model.to_line()) == {**sample, "backend": {**defaults, **sample["backend"]}}
    validator("Response").validate(json.loads(model.to_line()))


# The schema requires every Response/Backend key to be present (null when unknown); the pydantic models
# default missing ones to None. Reading stays tolerant, and what Python runners write has every key.
LENIENT_RESPONSES = [
    {**RESPONSES[0], "backend": {k: v for k, v in BACKEND.items() if k != "model_version"}},
    {"id": "9", "ok": True, "timing": {"latency_ms": None}, "backend": BACKEND},
    {**RESPONSES[2], "error": {"code": "bad_request", "message": "m"}},
    {**RESPONSES[0], "timing": {}},
]


@pytest.mark.parametrize("sample", LENIENT_RESPONSES, ids=str)
def test_missing_nullable_keys_are_read_as_null_and_written_in_full(sample):
    assert list(validator("Response").iter_errors(sample))
    model = Response.model_validate(sample)
    validator("Response").validate(json.loads(model.to_line()))


@pytest.mark.parametrize("sample", BAD_RESPONSES, ids=str)
def test_responses_invalid_in_both(sample):
    assert list(validator("Response").iter_errors(sample))
    with pytest.raises(ValidationError):
        Response.model_validate(sample)


def test_enums_agree():
    defs = SCHEMA["$defs"]
    assert set(typing.get_args(protocol.ErrorCode)) == set(defs["Error"]["properties"]["code"]["enum"])
    backend_names = typing.get_args(protocol.Backend.model_fields["name"].annotation)
    assert set(backend_names) == set(defs["Backend"]["properties"]["name"]["enum"])
    ops = typing.get_args(protocol.Request.model_fields["op"].annotation)
    assert set(ops) == set(defs["Request"]["properties"]["op"]["enum"])


def test_every_line_a_real_runner_writes_is_valid(tmp_path):
    """Drive the replay runner's request loop with good and bad lines; validate each raw output line."""
    import io

    from loop.runners.replay_server import ReplayBackend
    from loop.runners.serve_loop import serve

    lines = [json.dumps(r) for r in REQUESTS[:1] + REQUESTS[2:]] + [
        "not json", "[]", '{"id": "x", "op": "dance"}', '{"id": "y", "op": "generate", "max_output_tokens": -1}',
        json.dumps(REQUESTS[1]),
    ]
    out = io.StringIO()
    serve(ReplayBackend(), io.StringIO("\n".join(lines) + "\n"), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(answers) == len(lines)
    for answer in answers:
        validator("Response").validate(answer)
    codes = [a["error"]["code"] for a in answers if a["error"]]
    assert codes == ["adapter_not_found"] * 3 + ["bad_request", "bad_request", "unknown_op", "bad_request"]
