"""Every strategy of the shipped pipeline runs sandboxed end to end (replay runner: fast, no model)."""

from __future__ import annotations

import pytest

from loop.sandbox.session import PipelineSession


@pytest.mark.parametrize("knobs, labels", [
    ({"strategy": "single", "schema_style": "slots"}, ["draft"]),
    ({"strategy": "draft_critique_revise"}, ["draft", "critique", "revise"]),
    ({"strategy": "best_of_n", "temperature": 0.7, "selection": "pick"},
     ["candidate 1", "candidate 2", "candidate 3", "pick"]),
    ({"strategy": "best_of_n", "temperature": 0.7, "selection": "tournament", "n_candidates": 4},
     ["candidate 1", "candidate 2", "candidate 3", "candidate 4", "pairwise", "pairwise", "pairwise"]),
    ({"strategy": "best_of_n", "temperature": 0.7, "selection": "vote"},
     ["candidate 1", "candidate 2", "candidate 3", "vote (medoid)"]),
    ({"strategy": "best_of_n", "temperature": 0.0}, ["candidate 1"]),  # greedy candidates would be identical
])
def test_strategy_runs_sandboxed(make_workspace, replay_client, knobs, labels):
    with PipelineSession(make_workspace(knobs=knobs), replay_client, case_timeout_s=60) as session:
        result = session.run_case("Organise a team offsite")
    assert result.error is None, result.error
    assert len(result.answer.questions) == 7
    assert [e["label"] for e in result.trace] == labels
    assert result.deterministic is (knobs.get("temperature", 0.0) == 0.0)


def test_adapter_from_pipeline_toml_is_passed_on_calls(make_workspace, replay_client):
    workspace = make_workspace(settings={"adapter_path": "adapters/tiny.gguf"})
    (workspace / "adapters").mkdir()
    (workspace / "adapters" / "tiny.gguf").write_bytes(b"GGUF-not-really")
    with PipelineSession(workspace, replay_client, case_timeout_s=60) as session:
        result = session.run_case("Organise a team offsite")
    assert result.error is None, result.error
    (event,) = result.trace
    assert event["kind"] == "adapter"
    assert event["adapter"] == {"path": str(workspace / "adapters" / "tiny.gguf"), "format": "gguf-lora",
                                "sha256": None}  # a raw path, not a pointer: the runner hashes the file itself


def test_adapter_paths_into_the_ruler_are_refused(make_workspace, replay_client):
    pipeline = '''
from loop.runners.model import ModelCallError

def generate(task, model):
    try:
        model.respond("x", adapter={"path": "../ruler/tasks.jsonl", "format": "gguf-lora"})
        title = "accepted"
    except ModelCallError as exc:
        title = str(exc)[:100]
    return {"title": title, "questions": [f"Q{i}?" for i in range(7)]}
'''
    with PipelineSession(make_workspace(pipeline=pipeline), replay_client, case_timeout_s=60) as session:
        result = session.run_case("x")
    assert "points into" in result.answer.title and result.model_calls == 0
