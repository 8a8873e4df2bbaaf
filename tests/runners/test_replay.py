"""The replay runner: fixed answers found by task text, a deterministic generic answer otherwise."""

from __future__ import annotations

import json
import uuid

import pytest

from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter, Output, Request

from .conftest import ANSWER_SCHEMA, replay_argv

PARIS = {"title": "Trip to Paris", "questions": [f"Paris question {i}?" for i in range(7)]}


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    answers = tmp_path_factory.mktemp("replay") / "answers.json"
    answers.write_text(json.dumps({"plan a trip to Paris": PARIS,
                                   "plan a trip": {"title": "Trip", "questions": ["Where?"] * 7}}))
    with RunnerClient(replay_argv("--answers", str(answers)), name="replay-test") as client:
        yield client


def ask(client, prompt, schema=None, **fields):
    output = Output(kind="json_schema", schema=schema) if schema else Output(kind="text")
    return client.call(Request(id=uuid.uuid4().hex, op="generate", prompt=prompt, output=output, **fields))


def test_a_known_task_inside_the_prompt_gets_its_answer(replay):
    response = ask(replay, "Here is the task:\nplan a trip to Paris\nAnswer now.", ANSWER_SCHEMA)
    assert response.ok and response.json_ == PARIS  # the longest matching task wins
    assert json.loads(response.text) == PARIS
    assert response.backend.name == "replay" and response.backend.model == "answers.json"
    assert response.usage is None  # token counts are unknown here, never guessed


def test_text_output_has_the_answer_as_json_text_only(replay):
    response = ask(replay, "plan a trip to Paris")
    assert response.json_ is None and json.loads(response.text) == PARIS


def test_an_unknown_task_gets_seven_distinct_questions_deterministically(replay):
    first = ask(replay, "Task: organise a wedding in Rome", ANSWER_SCHEMA)
    second = ask(replay, "Task: organise a wedding in Rome", ANSWER_SCHEMA)
    assert first.json_ == second.json_
    questions = first.json_["questions"]
    assert len(questions) == 7 and len(set(questions)) == 7
    assert all("wedding in rome" in q.lower() for q in questions)


@pytest.mark.parametrize("low,high,expected", [(5, 5, 5), (9, 12, 9), (0, 3, 3)])
def test_schema_bounds_on_questions_are_honoured(replay, low, high, expected):
    schema = json.loads(json.dumps(ANSWER_SCHEMA))
    schema["properties"]["questions"].update(minItems=low, maxItems=high)
    generic = ask(replay, "Task: repaint the kitchen", schema)
    known = ask(replay, "plan a trip to Paris", schema)
    for response in (generic, known):
        questions = response.json_["questions"]
        assert len(questions) == expected and len(set(questions)) == expected


def test_a_missing_adapter_is_refused(replay, tmp_path):
    response = ask(replay, "plan a trip to Paris", adapter=Adapter(path=str(tmp_path / "x.gguf"), format="gguf-lora"))
    assert response.error.code == "adapter_not_found"


def test_an_existing_adapter_is_fingerprinted(replay, tmp_path):
    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(b"GGUF adapter bytes")
    response = ask(replay, "plan a trip to Paris", adapter=Adapter(path=str(adapter), format="gguf-lora"))
    assert response.ok and len(response.backend.adapter_signature) == 12
