"""`train data sft`: examples from the training pool, rendered by the shipped pipeline itself, checked
against ruler and holdout (a planted ruler task or gold copy is refused by name), split, with a card."""

from __future__ import annotations

import json

import pytest

from loop.ruler_files import load_cases
from loop.training.data import build, read_card
from loop.training.render import sha256_text


def test_sft_examples_use_exactly_the_pipelines_instructions_and_prompt(train_config, sft_request, tmp_path):
    out = tmp_path / "sft"
    card = build(train_config, "sft", sft_request, out, limit=20, log=lambda _m: None)
    rows = [json.loads(line) for split in ("train", "eval") for line in (out / f"{split}.jsonl").read_text().splitlines()]
    assert card.counts["train"] + card.counts["eval"] == len(rows) == 20 - card.counts["refused"]
    assert card.counts["eval"] >= 1 and card.counts["train"] >= 10
    system = (train_config.workspace_dir / "prompts" / "system.md").read_text().strip()
    draft = (train_config.workspace_dir / "prompts" / "draft.md").read_text().strip()
    pool = {c.id: c for c in load_cases(train_config.workspace_dir / "data" / "train.jsonl")}
    for row in rows:
        system_msg, user_msg, assistant_msg = row["messages"]
        assert system_msg == {"role": "system", "content": system}
        assert row["task"] in user_msg["content"] and user_msg["content"].startswith(draft.split("{")[0].strip()[:20])
        assert row["prompt_sha256"] == sha256_text(user_msg["content"])
        answer = json.loads(assistant_msg["content"])
        assert answer == {"title": pool[row["id"]].gold.title, "questions": pool[row["id"]].gold.questions}
    assert read_card(out) == card and card.instructions_sha256 == sha256_text(system)
    assert card.recipe == "sft" and card.request == sft_request and card.base_model["name"].endswith(".gguf")


def test_a_planted_ruler_task_and_gold_copy_are_refused_by_name(train_config, sft_request, tmp_path):
    pool_path = train_config.workspace_dir / "data" / "train.jsonl"
    ruler = load_cases(train_config.ruler_dir / "tasks.jsonl")
    holdout = load_cases(train_config.ruler_dir / "holdout.jsonl")
    planted = [
        {"id": "planted-task", "domain": "travel", "task": ruler[0].task,
         "gold": {"title": "A fresh title", "questions": [f"Question number {i} about it?" for i in range(7)]}},
        {"id": "planted-gold", "domain": "travel", "task": "Organise a quiet reading weekend by a lake",
         "gold": holdout[0].gold.model_dump()},
    ]
    pool_path.write_text("".join(json.dumps(p) + "\n" for p in planted) + pool_path.read_text())
    card = build(train_config, "sft", sft_request, tmp_path / "sft", limit=6, log=lambda _m: None)
    reasons = {r.id: r.reason for r in card.refused}
    assert set(reasons) == {"planted-task", "planted-gold"}
    assert ruler[0].id in reasons["planted-task"] and "gold" in reasons["planted-gold"]
    ids = [json.loads(l)["id"] for s in ("train", "eval") for l in (tmp_path / "sft" / f"{s}.jsonl").read_text().splitlines()]
    assert "planted-task" not in ids and "planted-gold" not in ids and len(ids) == 4


def test_a_request_that_does_not_exist_is_refused(train_config, tmp_path):
    with pytest.raises(LookupError, match="no training request 99"):
        build(train_config, "sft", 99, tmp_path / "x", limit=2)
    assert not (tmp_path / "x").exists()
