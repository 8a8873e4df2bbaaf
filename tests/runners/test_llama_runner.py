"""The llama runner (real llama.cpp on SmolLM2) driven through RunnerClient: format, determinism, sampling."""

from __future__ import annotations

import json
import uuid

import pytest

from loop import models
from loop.runners.protocol import Output, Request, Sampling

from .conftest import ANSWER_SCHEMA, SMOLLM2

pytestmark = pytest.mark.slow

TASK = "Plan a trip to Paris."
INSTRUCTIONS = ("Restate the user's task as a short title, then ask exactly seven clarifying questions "
                "that must be answered before planning. Answer in JSON.")


def generate(prompt: str, **fields) -> Request:
    return Request(id=uuid.uuid4().hex, op="generate", prompt=prompt, **fields)


def test_probe_names_the_model_and_its_pinned_version(llama):
    backend = llama.probe()
    assert backend.name == "llama"
    assert backend.model == models.REGISTRY[SMOLLM2].main_file
    assert backend.model_version == models.REGISTRY[SMOLLM2].files[0].sha256[:12]
    assert backend.os_build and backend.available is True and backend.adapter_signature is None


def test_schema_forces_a_title_and_exactly_seven_questions(llama):
    response = llama.call(generate(f"Task: {TASK}", instructions=INSTRUCTIONS, max_output_tokens=400,
                                   output=Output(kind="json_schema", schema=ANSWER_SCHEMA)))
    assert response.ok, response.error
    assert set(response.json_) == {"title", "questions"}
    assert isinstance(response.json_["title"], str)
    assert len(response.json_["questions"]) == 7
    assert json.loads(response.text) == response.json_
    assert response.usage.input_tokens > 10 and response.usage.output_tokens > 7
    assert response.timing.latency_ms > 0


def test_the_schema_bounds_decide_the_count(llama):
    three = json.loads(json.dumps(ANSWER_SCHEMA))
    three["properties"]["questions"].update(minItems=3, maxItems=3)
    response = llama.call(generate(f"Task: {TASK}", instructions=INSTRUCTIONS, max_output_tokens=300,
                                   output=Output(kind="json_schema", schema=three)))
    assert response.ok, response.error
    assert len(response.json_["questions"]) == 3


def test_greedy_output_repeats_exactly_even_after_another_prompt(llama):
    def ask(prompt):
        return llama.call(generate(prompt, sampling=Sampling(mode="greedy"), max_output_tokens=30)).text

    first = ask("Name three things to pack for Paris.")
    other = ask("Write one sentence about the sea.")
    second = ask("Name three things to pack for Paris.")
    assert first and first == second
    assert other != first


def test_sampling_with_a_seed_repeats_and_different_seeds_differ(llama):
    def ask(seed):
        sampling = Sampling(mode="random", temperature=1.0, top_k=100, seed=seed)
        return llama.call(generate("Invent a name for a cat.", sampling=sampling, max_output_tokens=12)).text

    first = ask(11)
    assert first == ask(11)
    assert len({first, ask(1), ask(2)}) > 1


def test_instructions_reach_the_model_as_a_system_message(llama):
    bare = llama.call(generate("Hello", max_output_tokens=4))
    with_system = llama.call(generate("Hello", instructions="You are terse. " * 10, max_output_tokens=4))
    assert with_system.usage.input_tokens >= bare.usage.input_tokens + 30


def test_max_output_tokens_caps_the_answer_and_calls_are_counted(llama):
    before = llama.calls
    response = llama.call(generate("Count from one to one hundred in words.", max_output_tokens=5))
    assert response.ok and response.usage.output_tokens <= 5
    assert llama.calls == before + 1


def test_the_runner_reports_its_own_timeout(llama):
    response = llama.call(generate("Write a long story about Paris.", max_output_tokens=800, timeout_s=0.3))
    assert not response.ok and response.error.code == "timeout"
    assert response.error.retryable
    assert llama.call(generate("Say hi.", max_output_tokens=4)).ok
