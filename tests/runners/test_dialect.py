"""The schema dialects: one data file read by Python and (embedded) by the Swift fm-runner; the runner
client refuses a schema outside the backend's dialect before sending it, naming keyword and path."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from loop.runners.client import RunnerClient, SchemaDialectError
from loop.runners.dialect import DIALECTS_PATH, dialect_named, load_dialects
from loop.runners.protocol import Output, Request

BINARY = Path(__file__).resolve().parents[2] / "native" / ".build" / "release" / "fm-runner"
needs_fm_runner = pytest.mark.skipif(not BINARY.is_file(), reason=f"fm-runner is not built ({BINARY}); run `make native`")


def generate(schema: dict) -> Request:
    return Request(id=uuid.uuid4().hex, op="generate", prompt="Task: plan a trip to Paris",
                   output=Output(kind="json_schema", schema=schema))


def with_property(keyword: str, value) -> dict:
    return {"type": "object", "properties": {"title": {"type": "string", keyword: value}}, "required": ["title"]}


def test_one_entry_per_backend_and_the_mock_equals_apple():
    dialects = load_dialects()
    assert set(dialects) == {"apple", "mock", "llama"}
    assert dialects["mock"].model_dump(exclude={"name"}) == dialects["apple"].model_dump(exclude={"name"})
    assert not dialects["apple"].allows("minLength") and not dialects["apple"].allows("pattern")
    assert dialects["apple"].allows("$ref") and dialects["apple"].allows("anyOf")
    assert dialects["llama"].full_json_schema and dialects["llama"].allows("minLength")


def test_a_violation_names_the_keyword_and_its_json_path():
    apple = dialect_named("apple")
    schema = {"type": "object", "properties": {
        "title": {"type": "string"},
        "questions": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "string", "format": "x"}]}}}}
    violation = apple.first_violation(schema)
    assert (violation.keyword, violation.path) == ("format", "properties.questions.items.anyOf[1]")
    assert apple.first_violation(with_property("minLength", 1)).path == "properties.title"
    assert apple.first_violation({"type": "object", "properties": {"n": {"type": "null"}}}).keyword == "type"
    assert dialect_named("llama").first_violation(with_property("minLength", 1)) is None


def test_an_unknown_dialect_name_is_a_clear_input_error():
    from loop.errors import InputError

    with pytest.raises(InputError, match="schema dialect 'klingon'") as info:
        dialect_named("klingon")
    assert info.value.path == DIALECTS_PATH


@pytest.fixture(scope="module")
def fm():
    with RunnerClient([str(BINARY), "serve", "--backend", "mock"], timeout_s=30, name="fm-mock") as client:
        yield client


@pytest.mark.needs_swift
@needs_fm_runner
def test_swift_and_python_read_the_same_dialect_data(fm):
    """The binary embeds schema-dialects.json: for every keyword either side knows (and some neither
    allows), the compiled mock accepts exactly what Python's mock entry allows, with the same message."""
    backend = fm.probe()
    assert backend.dialect == "mock"
    mock = fm.dialect
    assert mock == load_dialects()["mock"]
    samples = {"enum": ["Paris"], "minimum": 0, "maximum": 9, "minItems": 1, "maxItems": 1, "description": "d",
               "title": "t", "$comment": "c", "default": "Paris", "examples": ["Paris"], "$schema": "x", "$id": "x",
               "minLength": 1, "maxLength": 9, "pattern": "^P", "format": "date", "const": "Paris",
               "oneOf": [{"type": "string"}], "allOf": [{"type": "string"}], "not": {"type": "number"},
               "uniqueItems": True, "multipleOf": 2, "x-unknown": 1}
    keywords = set(samples) | set(mock.keywords) | set(mock.annotations)
    structural = {"type", "properties", "required", "additionalProperties", "x-order", "items", "anyOf", "$ref", "$defs"}
    for keyword in sorted(keywords - structural):
        schema = with_property(keyword, samples[keyword])
        response = fm.call_raw(generate(schema).to_line())
        assert response.ok == mock.allows(keyword), (keyword, response.error)
        if not response.ok:
            assert response.error.message == mock.first_violation(schema).message("mock")
    shaped = {"type": "object", "$defs": {"Q": {"type": "object", "properties": {"text": {"type": "string"}}}},
              "properties": {"title": {"type": "string"}, "more": {"$ref": "#/$defs/Q"},
                             "either": {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 1}]}},
              "additionalProperties": False, "x-order": ["title", "more", "either"]}
    assert mock.first_violation(shaped) is None
    answer = fm.call(generate(shaped))
    assert answer.ok, answer.error
    assert list(answer.json_) == ["title", "more", "either"] and answer.json_["more"]["text"]


@pytest.mark.needs_swift
@needs_fm_runner
def test_the_client_refuses_a_schema_outside_the_dialect_before_sending(fm):
    fm.probe()
    before, tail_before = fm.calls, len(fm.stderr_tail(400))
    with pytest.raises(SchemaDialectError) as info:
        fm.call(generate(with_property("minLength", 1)))
    error = info.value
    assert (error.code, error.keyword, error.path, error.dialect) == ("unsupported_schema", "minLength",
                                                                      "properties.title", "mock")
    assert "keyword 'minLength' at properties.title is not in the mock schema dialect" in str(error)
    assert "before sending" in str(error)
    assert fm.calls == before, "a refused request is not a model call"
    assert len(fm.stderr_tail(400)) == tail_before, "the runner never saw the request"
    assert fm.call(generate(with_property("enum", ["Paris"]))).ok


def test_a_runner_that_reports_no_dialect_is_not_checked(tmp_path):
    """Replay and cloud runners name no dialect: nothing is refused on the client side."""
    import sys

    with RunnerClient([sys.executable, "-m", "loop.runners.replay_server", "serve"], name="replay") as client:
        assert client.dialect is None
        client.check_schema(generate(with_property("minLength", 1)))  # no error raised


def test_the_llama_runner_reports_the_full_json_schema_dialect(llama):
    """llama.cpp compiles any JSON Schema to a grammar: its dialect refuses nothing, minLength included."""
    assert llama.probe().dialect == "llama"
    assert llama.dialect.full_json_schema
    schema = {"type": "object", "properties": {"title": {"type": "string", "minLength": 3, "maxLength": 40}},
              "required": ["title"], "additionalProperties": False}
    response = llama.call(generate(schema).model_copy(update={"max_output_tokens": 40}))
    assert response.ok, response.error
    assert 3 <= len(response.json_["title"]) <= 40
