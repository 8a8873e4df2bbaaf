"""One training-pool task through the current workspace's pipeline, for the research agent's `run_task`
tool: the agent looks at what its pipeline answers before it spends an evaluation.

The task is read by id from the workspace's own training pool (`agent_workspace/data/train.jsonl`, the
file retrieval and training read: `loop.training.data.POOL`). Refused with one clear error, nothing run:
an id of the ruler (`ruler/tasks.jsonl`) or the holdout (`ruler/holdout.jsonl`), an id the pool does not
hold, and a pool task whose text is a ruler or holdout task (a ruler task smuggled in under a pool id).
The run goes through `Resources.run_task`, the sandboxed pipeline session an evaluation uses, bounded by
`config.case_timeout_s` (the worker is killed past it). What comes back is the pipeline's own answer,
its error and its trace; never the pool's gold, and nothing is judged or recorded.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from loop.config import Config
from loop.errors import InputError
from loop.ruler_files import load_cases
from loop.schemas import Answer, Case
from loop.textnorm import normalise
from loop.training.data import POOL

RULER_FILES = ("tasks.jsonl", "holdout.jsonl")
MAX_TRACE_TEXT = 4000  # characters of one trace string the agent gets back (prompts can be long)


class TaskRefused(ValueError):
    """The id names no task the agent may run (ruler, holdout, unknown): nothing was run."""


class TaskRun(BaseModel):
    """What the agent gets back from one pool task: the pipeline's answer and trace, no gold."""

    task_id: str
    task: str
    answer: Answer | None
    error: str | None  # why the pipeline failed or answered the wrong shape (None when it answered)
    trace: list[dict]  # every model call and step, as an evaluation records it
    model_calls: int
    latency_ms: float
    timeout_s: float  # the bound the run had (config.case_timeout_s)


def _sealed(config: Config) -> tuple[dict[str, str], set[str]]:
    """Ruler and holdout ids (id -> the file that holds it) and their normalised task texts."""
    ids, texts = {}, set()
    for name in RULER_FILES:
        path = Path(config.ruler_dir) / name
        if not path.exists():
            continue
        for case in load_cases(path):
            ids[case.id] = f"ruler/{name}"
            texts.add(normalise(case.task))
    return ids, texts


def pool_task(config: Config, workspace: Path, task_id: str) -> Case:
    """The pool case `task_id` of `workspace`, or TaskRefused saying why not."""
    task_id = (task_id or "").strip()
    ids, texts = _sealed(config)
    if task_id in ids:
        sealed = "the sealed holdout" if ids[task_id].endswith("holdout.jsonl") else "the frozen ruler"
        raise TaskRefused(f"task {task_id!r} is in {sealed} ({ids[task_id]}): run_task runs training-pool "
                          f"tasks only ({POOL.as_posix()} in agent_workspace/); use evaluate for the ruler")
    path = Path(workspace) / POOL
    try:
        pool = {case.id: case for case in load_cases(path)}
    except InputError as exc:
        raise TaskRefused(f"the training pool can not be read: {exc}") from None
    if task_id not in pool:
        some = ", ".join(list(pool)[:5])
        raise TaskRefused(f"no task {task_id!r} in the training pool agent_workspace/{POOL.as_posix()} "
                          f"({len(pool)} tasks, e.g. {some})")
    case = pool[task_id]
    if normalise(case.task) in texts:
        raise TaskRefused(f"pool task {task_id!r} is a ruler or holdout task ({case.task!r}): refused")
    return case


def _short(value):
    if isinstance(value, str) and len(value) > MAX_TRACE_TEXT:
        return value[:MAX_TRACE_TEXT] + f"… [{len(value) - MAX_TRACE_TEXT} more characters]"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


def run_pool_task(config: Config, resources, workspace: Path, task_id: str) -> TaskRun:
    """Run pool task `task_id` through `workspace`'s pipeline (TaskRefused before anything runs)."""
    case = pool_task(config, workspace, task_id)
    result = resources.run_task(case.task, Path(workspace))
    return TaskRun(task_id=case.id, task=case.task, answer=result.answer, error=result.error,
                   trace=_short(list(result.trace)), model_calls=result.model_calls,
                   latency_ms=result.latency_ms, timeout_s=config.case_timeout_s)
