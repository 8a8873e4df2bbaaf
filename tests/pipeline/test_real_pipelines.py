"""Real pipelines through the REAL portable runner (SmolLM2-135M via llama_server, RunnerClient),
sandboxed; each run's trace and SVG process diagram are produced. Few calls, short outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loop.sandbox.session import PipelineSession
from loop.trace_diagram import trace_to_svg

pytestmark = pytest.mark.slow
SHORT = {"max_output_tokens": 260, "critique_tokens": 60, "max_chars": 70}
TASK = "Plan a trip to Paris"


def _run(make_workspace, client, tmp_path, name, **knobs):
    workspace = make_workspace(knobs=knobs, settings=SHORT)
    with PipelineSession(workspace, client, case_timeout_s=180) as session:
        assert session.mode == "bwrap"
        result = session.run_case(TASK)
    svg = trace_to_svg(result.trace, f"{name}: {TASK}")
    (tmp_path / f"{name}.svg").write_text(svg)
    ET.fromstring(svg)
    assert result.error is None, result.error
    assert len(result.answer.questions) == 7 and result.answer.title.strip()
    calls = [e for e in result.trace if e["kind"] == "model"]
    assert all(e["ok"] and e["output_tokens"] and e["latency_ms"] > 0 for e in calls)
    assert result.model_calls == len(calls)
    return result, svg


def test_baseline_is_one_greedy_guided_call(make_workspace, smollm2_client, tmp_path):
    result, svg = _run(make_workspace, smollm2_client, tmp_path, "baseline")
    assert [(e["kind"], e["label"], e["schema"]) for e in result.trace] == [("model", "draft", True)]
    assert result.deterministic and result.trace[0]["sampling"]["mode"] == "greedy"
    assert 'class="model"' in svg


def test_draft_critique_revise_chain(make_workspace, smollm2_client, tmp_path):
    result, svg = _run(make_workspace, smollm2_client, tmp_path, "dcr", strategy="draft_critique_revise")
    assert [e["label"] for e in result.trace] == ["draft", "critique", "revise"]
    draft, critique, revise = result.trace
    assert critique["schema"] is False and critique["output_tokens"] <= SHORT["critique_tokens"]
    assert critique["text"].strip()[:40] in revise["prompt"]  # the critique feeds the revision
    assert svg.count('class="model"') == 3


def test_eight_then_trim(make_workspace, smollm2_client, tmp_path):
    result, svg = _run(make_workspace, smollm2_client, tmp_path, "eight", strategy="eight_then_trim")
    assert [(e["kind"], e["label"]) for e in result.trace] == [("model", "draft"), ("step", "prune")]
    assert '"questions"' in result.trace[0]["text"] and result.trace[1]["detail"]["given"] == 8
    assert 'class="step"' in svg and 'class="model"' in svg


def test_retrieval_shows_similar_pool_tasks_as_examples(make_workspace, smollm2_client, tmp_path):
    result, svg = _run(make_workspace, smollm2_client, tmp_path, "retrieval", n_examples=2)
    step, call = result.trace
    assert step["kind"] == "step" and step["label"] == "retrieve examples"
    assert step["detail"]["pool"] >= 2 and len(step["detail"]["chosen"]) == 2
    assert "Examples of good answers to similar tasks" in call["prompt"]
    assert call["input_tokens"] > 150  # the examples made the prompt longer than the baseline's
