"""Retrieval never serves a pool row that is the task being answered (a ruler task planted in the pool),
whether disguised by look-alikes, zero-width characters and case, or lightly reworded."""

import json
import sys

import pytest


@pytest.fixture
def retrieval(project_copy, monkeypatch):
    monkeypatch.syspath_prepend(str(project_copy / "agent_workspace"))
    for name in [m for m in sys.modules if m == "steps" or m.startswith("steps.")]:
        monkeypatch.delitem(sys.modules, name)
    from steps import retrieval as module

    return module, project_copy / "agent_workspace" / "data"


def test_a_planted_copy_of_the_asked_task_is_refused(retrieval):
    module, data = retrieval
    task = "Plan a surprise birthday party for my sister"
    rows = [{"id": "p1", "task": "Pl\u0430n a surprise\u200b birthday party for my SISTER!", "gold": {"title": "t", "questions": []}},
            {"id": "p2", "task": "Plan a surprise birthday party for my sister, please", "gold": {"title": "t", "questions": []}},
            {"id": "p3", "task": "Organise a team offsite", "gold": {"title": "t", "questions": []}}]
    pool = data / "planted.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    chosen = module.similar_tasks(task, 3, path=pool)
    assert [r["id"] for r in chosen] == ["p3"]
