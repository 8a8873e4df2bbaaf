"""Every lever of the step library runs on the compiled `fm-runner --backend mock` (runner "apple-mock",
the Apple code path), inside the bubblewrap pipeline sandbox, with schemas shaped by the runner's dialect."""

from __future__ import annotations

import sys
import uuid
from itertools import product
import pytest
from jsonschema import Draft202012Validator

from loop.config import Config
from loop.runners.client import SchemaDialectError
from loop.runners.factory import open_runner
from loop.runners.protocol import Output, Request
from loop.sandbox.session import PipelineSession

from .conftest import REPO, WORKSPACE

BINARY = REPO / "native" / ".build" / "release" / "fm-runner"
pytestmark = [
    pytest.mark.needs_swift,
    pytest.mark.skipif(not BINARY.is_file(), reason=f"fm-runner is not built ({BINARY}); run `make native`"),
]
TASK = "Plan a week-long family trip to Lisbon in August"


@pytest.fixture(scope="module")
def apple_mock():
    """The configured runner "apple-mock": compiled fm-runner --backend mock, opened like `apple`."""
    with open_runner(Config(runner="apple-mock", fm_runner_path=BINARY)) as client:
        yield client


@pytest.fixture(scope="module")
def library():
    """The shipped step library and pipeline config (imported the way the worker imports them)."""
    sys.path.insert(0, str(WORKSPACE))
    try:
        from steps import candidates, config, output

        yield output, candidates, config.load_pipeline_config(WORKSPACE)
    finally:
        sys.path.remove(str(WORKSPACE))


def library_schemas(output, pipeline_config, dialect) -> dict[str, dict]:
    """Every schema the step library can produce, from its own builders over the shipped knob ranges:
    answer schemas for each style x question count (7, and eight_then_trim's 8..12) x max_chars, and
    the choice schemas of pick (A.. for each n_candidates) and pairwise (A/B)."""
    knobs = pipeline_config["knobs"]
    styles = set(output.STYLES) | set(knobs["schema_style"]["choices"])
    counts = {output.QUESTIONS, *range(int(knobs["overgenerate"]["low"]), int(knobs["overgenerate"]["high"]) + 1)}
    schemas = {f"answer {style} n={n} max_chars={chars}": output.answer_schema(n, style, chars, dialect)
               for style, n, chars in product(sorted(styles), sorted(counts), (None, 60))}
    for count in range(1, int(knobs["n_candidates"]["high"]) + 1):
        letters = [chr(ord("A") + i) for i in range(count)]
        schemas[f"pick of {count}"] = output.choice_schema(letters)
    schemas["pairwise"] = output.choice_schema(["A", "B"])
    return schemas


def test_every_schema_the_step_library_produces_is_answered_by_the_compiled_mock(apple_mock, library):
    output, _, pipeline_config = library
    dialect = apple_mock.dialect
    assert dialect is not None and dialect.name == "mock"
    schemas = library_schemas(output, pipeline_config, dialect)
    assert len(schemas) >= 2 * 6 * 2 + 2
    for label, schema in schemas.items():
        assert dialect.first_violation(schema) is None, label
        request = Request(id=uuid.uuid4().hex, op="generate", prompt=f"Task: {TASK}",
                          output=Output(kind="json_schema", schema=schema))
        response = apple_mock.call(request)
        assert response.ok, (label, response.error)
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(response.json_)]
        assert not errors, (label, errors)
        if label.startswith("answer"):
            answer = output.parse_answer(response, 60 if "max_chars=60" in label else None)
            n = int(label.split("n=")[1].split()[0])
            assert len(answer["questions"]) == n and answer["title"], label
            assert len(set(answer["questions"])) == n, label


def test_the_full_json_schema_form_is_refused_by_the_client_not_scored(apple_mock, library):
    """What the step library used to send (minLength on every string) never reaches the runner."""
    output = library[0]
    request = Request(id=uuid.uuid4().hex, op="generate", prompt=f"Task: {TASK}",
                      output=Output(kind="json_schema", schema=output.answer_schema(7, "array", None, None)))
    with pytest.raises(SchemaDialectError, match=r"keyword 'minLength' at properties.title"):
        apple_mock.call(request)


CUSTOM_INSTRUCTIONS = "You are the custom instructions of this test. Answer in the requested JSON format."
STRATEGIES = [
    ({"strategy": "single"}, {}, ["draft"]),
    ({"strategy": "single", "schema_style": "slots"}, {}, ["draft"]),
    ({"strategy": "single"}, {"max_chars": 40}, ["draft"]),
    *[({"strategy": "eight_then_trim", "overgenerate": n}, {}, ["draft", "prune"]) for n in range(8, 13)],
    ({"strategy": "eight_then_trim", "overgenerate": 10, "schema_style": "slots"}, {}, ["draft", "prune"]),
    ({"strategy": "draft_critique_revise"}, {}, ["draft", "critique", "revise"]),
    ({"strategy": "best_of_n", "temperature": 0.7, "selection": "pick"}, {},
     ["candidate 1", "candidate 2", "candidate 3", "pick"]),
    ({"strategy": "best_of_n", "temperature": 0.7, "selection": "vote"}, {},
     ["candidate 1", "candidate 2", "candidate 3", "vote (medoid)"]),
    ({"strategy": "best_of_n", "temperature": 0.7, "selection": "tournament", "n_candidates": 4}, {},
     ["candidate 1", "candidate 2", "candidate 3", "candidate 4", "pairwise", "pairwise", "pairwise"]),
    ({"strategy": "single", "n_examples": 2}, {}, ["retrieve examples", "draft"]),
]


@pytest.mark.parametrize("knobs, settings, labels", STRATEGIES,
                         ids=[" ".join(f"{k}={v}" for k, v in {**k, **s}.items()) for k, s, _ in STRATEGIES])
def test_every_strategy_runs_on_fm_runner_in_the_sandbox(make_workspace, apple_mock, knobs, settings, labels):
    workspace = make_workspace(knobs=knobs, settings={"instructions": "custom", **settings})
    (workspace / "prompts" / "custom.md").write_text(CUSTOM_INSTRUCTIONS + "\n")
    with PipelineSession(workspace, apple_mock, case_timeout_s=120, sandbox="bwrap") as session:
        assert session.mode == "bwrap"
        result = session.run_case(TASK)
    assert result.error is None, result.error
    assert result.answer.shape_problem() is None
    assert [e["label"] for e in result.trace] == labels
    calls = [e for e in result.trace if e["kind"] == "model"]
    assert calls and all(e["ok"] and e["error"] is None for e in calls)
    assert {e["instructions"] for e in calls} == {CUSTOM_INSTRUCTIONS}, "[pipeline] instructions reach every call"
    if settings.get("max_chars"):
        texts = [result.answer.title, *result.answer.questions]
        assert all(len(t) <= settings["max_chars"] for t in texts), texts
        assert any(len(q) > settings["max_chars"] for q in _mock_questions(calls[0])), \
            "the mock's raw answer was longer: the limit was enforced after decoding"


def _mock_questions(event: dict) -> list[str]:
    import json

    data = json.loads(event["text"])
    return data.get("questions") or [v for k, v in data.items() if k.startswith("q")]


def test_the_dialect_reaches_the_sandboxed_pipeline_through_the_model_handle(make_workspace, apple_mock):
    pipeline = f'''
from pathlib import Path

def generate(task, model):
    d = model.dialect
    seen = Path({str(REPO / "native" / "protocol" / "schema-dialects.json")!r}).exists()
    return {{"title": f"{{d.name}} minLength={{d.allows('minLength')}} native={{seen}}",
            "questions": [f"Q{{i}}?" for i in range(7)]}}
'''
    with PipelineSession(make_workspace(pipeline=pipeline), apple_mock, case_timeout_s=60, sandbox="bwrap") as session:
        result = session.run_case(TASK)
    assert result.error is None, result.error
    assert result.answer.title == "mock minLength=False native=False", "the sandbox cannot read native/"
