"""The step library, unit by unit, with a scripted fake model (real embedder where it matters)."""

from __future__ import annotations

import json
import sys
import zlib

import jsonschema
import numpy as np
import pytest

from loop.runners.protocol import Backend, Response

from .conftest import WORKSPACE

sys.path.insert(0, str(WORKSPACE))
from steps import candidates, chains, cleanup, output, prompts, retrieval, sampling  # noqa: E402
from steps.adapters import adapter_from  # noqa: E402
from steps.tracing import traced, traced_step  # noqa: E402

SEVEN = [f"Question number {i}?" for i in range(1, 8)]


class FakeModel:
    """Answers from a script (a list of dicts/strings, in order); records calls and trace events."""

    def __init__(self, script):
        self.script, self.calls, self.events = list(script), [], []

    def respond(self, prompt, **kw):
        self.calls.append({"prompt": prompt, **kw})
        item = self.script.pop(0)
        text = item if isinstance(item, str) else json.dumps(item)
        return Response(id="x", ok=True, text=text, json=None if isinstance(item, str) else item,
                        backend=Backend(name="mock"))

    def trace_step(self, event):
        self.events.append(event)


def fake_embed(texts):
    """Hashed bag-of-words vectors: identical texts -> cosine 1, disjoint words -> ~0."""
    vectors = np.zeros((len(texts), 512), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().replace("?", "").split():
            vectors[row, zlib.crc32(word.encode()) % 512] += 1
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("style", ["array", "slots"])
def test_schema_accepts_exactly_n_questions(style):
    schema = output.answer_schema(7, style)
    good = {"title": "T", "questions": SEVEN} if style == "array" else {"title": "T", **{f"q{i}": "q?" for i in range(1, 8)}}
    jsonschema.validate(good, schema)
    bad = {"title": "T", "questions": SEVEN[:6]} if style == "array" else {"title": "T", **{f"q{i}": "q?" for i in range(1, 7)}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_parse_answer_from_slots_json_and_free_text():
    slots = Response(id="1", ok=True, text="", json={"title": "T", **{f"q{i}": f"Q{i}?" for i in range(7, 0, -1)}},
                     backend=Backend(name="mock"))
    assert output.parse_answer(slots)["questions"] == [f"Q{i}?" for i in range(1, 8)]
    text = Response(id="2", ok=True, text='noise {"title": "T", "questions": ["a?"]} tail', backend=Backend(name="mock"))
    assert output.parse_answer(text) == {"title": "T", "questions": ["a?"]}
    free = Response(id="3", ok=True, text="Title: Paris trip\n1. When?\n2. Who?\nThanks", backend=Backend(name="mock"))
    assert output.parse_answer(free) == {"title": "Paris trip", "questions": ["When?", "Who?"]}


def test_prompt_templates_exist_and_render_every_placeholder():
    for name in ("system", "draft", "critique", "revise", "pick", "pairwise"):
        assert prompts.load_prompt(name)
    text = prompts.render("draft", task="Plan a trip to Paris", n=7, examples="")
    assert "Plan a trip to Paris" in text and "exactly 7" in text and "{" not in text
    with pytest.raises(KeyError, match="task"):
        prompts.render("draft", n=7, examples="")


def test_sampling_presets():
    assert sampling.sampling_for(0.0) == {"mode": "greedy"}
    assert sampling.sampling_for(0.7, seed=3) == {"mode": "random", "temperature": 0.7, "seed": 3, "top_p": 0.95}
    assert sampling.preset("focused", seed=2)["seed"] == 2


def test_traced_step_reports_to_the_model_sink():
    model = FakeModel([])
    with traced_step("count", model, given=3) as detail:
        detail["kept"] = 2

    @traced("double")
    def double(xs):
        return xs + xs

    assert double([1], model=model) == [1, 1]
    assert [e["label"] for e in model.events] == ["count", "double"]
    assert model.events[0]["kind"] == "step" and model.events[0]["detail"] == {"given": 3, "kept": 2}
    assert model.events[1]["detail"] == {"items": 2} and model.events[1]["latency_ms"] >= 0


def test_dedupe_drops_near_duplicates_and_keeps_order():
    questions = ["What is your budget?", "When do you travel?", "What is your budget?", "Who is going?"]
    model = FakeModel([])
    kept = cleanup.dedupe(questions, 0.95, embed=fake_embed, model=model)
    assert kept == ["What is your budget?", "When do you travel?", "Who is going?"]
    assert model.events[0]["label"] == "dedupe" and model.events[0]["detail"]["kept"] == 3


def test_prune_overgenerated_to_seven_dropping_duplicates_first():
    eight = SEVEN[:6] + ["Question number 1?", "Completely different thing?"]
    pruned = cleanup.prune(eight, 7, threshold=0.95, embed=fake_embed)
    assert len(pruned) == 7 and pruned.count("Question number 1?") == 1
    assert "Completely different thing?" in pruned
    assert cleanup.prune(SEVEN[:5], 7, embed=fake_embed) == SEVEN[:5]


def test_coverage_check_against_topics():
    covered = cleanup.coverage(["What is your budget?", "Who is going?"], ["budget", "dates"], 0.3, embed=fake_embed)
    assert covered == {"budget": True, "dates": False}


def test_draft_critique_revise_chains_three_calls_feeding_each_other():
    revised = {"title": "Paris trip", "questions": [f"Better {i}?" for i in range(7)]}
    model = FakeModel([{"title": "Paris", "questions": SEVEN}, "Q1 is vague; missing departure city.", revised])
    answer = chains.draft_critique_revise(model, "Plan a trip to Paris", max_output_tokens=50)
    assert answer == revised
    assert [c["label"] for c in model.calls] == ["draft", "critique", "revise"]
    assert "Question number 1?" in model.calls[1]["prompt"]
    assert "missing departure city" in model.calls[2]["prompt"]
    assert model.calls[1].get("schema") is None  # the critique is free text, never schema-forced
    assert model.calls[2]["schema"]["properties"]["questions"]["minItems"] == 7


def test_best_of_n_pick_and_tournament_are_judged_by_the_model():
    cands = [{"title": f"T{i}", "questions": [f"c{i} q{j}?" for j in range(7)]} for i in range(3)]
    model = FakeModel(cands + [{"choice": "B"}])
    chosen = candidates.best_of_n(model, "task", 3, "pick", temperature=0.7)
    assert chosen["title"] == "T1"
    seeds = [c["sampling"]["seed"] for c in model.calls[:3]]
    assert seeds == [0, 1, 2] and model.calls[3]["label"] == "pick"

    model = FakeModel(cands + [{"choice": "B"}, {"choice": "A"}])
    chosen = candidates.best_of_n(model, "task", 3, "tournament", temperature=0.7)
    assert chosen["title"] == "T1"  # T0 vs T1 -> T1; T1 vs T2 -> T1
    assert [c["label"] for c in model.calls[3:]] == ["pairwise", "pairwise"]


def test_vote_picks_the_medoid():
    a = {"title": "a", "questions": ["budget dates people"]}
    b = {"title": "b", "questions": ["budget dates"]}
    c = {"title": "c", "questions": ["unrelated words here"]}
    assert candidates.vote([c, a, b], fake_embed)["title"] in ("a", "b")


def test_retrieval_finds_similar_pool_tasks_with_the_real_embedder(tmp_path):
    pool = tmp_path / "train.jsonl"
    rows = [{"id": "p1", "task": "Plan a weekend trip to Rome", "gold": {"title": "Rome", "questions": ["When?"]}},
            {"id": "p2", "task": "Write a cover letter for a job", "gold": {"title": "Letter", "questions": ["Which job?"]}},
            {"id": "p3", "task": "Bake a birthday cake", "gold": {"title": "Cake", "questions": ["Flavour?"]}}]
    pool.write_text("\n".join(json.dumps(r) for r in rows))
    model = FakeModel([])
    found = retrieval.similar_tasks("Plan a trip to Paris", 1, model=model, path=pool)
    assert [r["id"] for r in found] == ["p1"]
    assert model.events[0]["label"] == "retrieve examples" and model.events[0]["detail"]["chosen"] == ["p1"]
    block = retrieval.format_examples(found)
    assert "Plan a weekend trip to Rome" in block and "1. When?" in block


def test_shipped_training_pool_loads():
    rows = retrieval.load_pool()
    assert rows and all({"task", "gold"} <= set(r) for r in rows)


def test_adapter_from_settings():
    assert adapter_from({"adapter_path": ""}) is None
    adapter = adapter_from({"adapter_path": "adapters/a.gguf", "adapter_format": "gguf-lora"}, WORKSPACE)
    assert adapter == {"path": str(WORKSPACE / "adapters/a.gguf"), "format": "gguf-lora"}
