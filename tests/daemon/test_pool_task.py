"""`run_task`'s choice of task (loop/daemon/pool_task.py), without the CLI: pool ids only; ruler and
holdout ids, unknown ids and a ruler task smuggled into the pool are refused with a clear error and
nothing runs."""

from __future__ import annotations

import json

import pytest

from loop.daemon.pool_task import POOL, TaskRefused, pool_task, run_pool_task
from loop.ruler_files import load_cases


class NoRun:
    def run_task(self, task, workspace):
        raise AssertionError("nothing may run for a refused task")


def test_pool_ids_only(research_repo, h):
    config = h.config_for(research_repo)
    workspace = research_repo / "agent_workspace"
    first = load_cases(workspace / POOL)[0]
    assert pool_task(config, workspace, first.id) == first
    ruler = load_cases(research_repo / "ruler" / "tasks.jsonl")[0]
    holdout = load_cases(research_repo / "ruler" / "holdout.jsonl")[0]
    for task_id, said in ((ruler.id, "frozen ruler (ruler/tasks.jsonl)"),
                          (holdout.id, "sealed holdout (ruler/holdout.jsonl)"),
                          ("zz9", "no task 'zz9' in the training pool")):
        with pytest.raises(TaskRefused, match=said.replace("(", r"\(").replace(")", r"\)")):
            run_pool_task(config, NoRun(), workspace, task_id)

    smuggled = {"id": "p999", "task": ruler.task.upper() + " ", "gold": first.gold.model_dump()}
    with (workspace / POOL).open("a") as handle:
        handle.write(json.dumps(smuggled) + "\n")
    with pytest.raises(TaskRefused, match="'p999' is a ruler or holdout task"):
        run_pool_task(config, NoRun(), workspace, "p999")
