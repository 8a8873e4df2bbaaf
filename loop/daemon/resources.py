"""What the daemon holds open across iterations: one runner, one judge, the git record, the embedder.

Evaluations of every worktree go through `Resources.evaluate` so the runner process (and its loaded
model) is reused for the whole night. Tests and benchmarks inject fakes (runner, judge, a pipeline
session factory); by default the real ones are opened from the config. Under `shared_limits` the
judge's calls hold the record's shared judge slots (loop/daemon/judge_slots.py).
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Callable

from loop.config import Config
from loop.daemon.gitrecord import GitRecord
from loop.daemon.remote import ResearchRemote
from loop.ruler_files import ruler_id

log = logging.getLogger(__name__)


class Resources:
    def __init__(self, config: Config, *, runner=None, judge=None, session_factory: Callable | None = None,
                 embedder="default", worker=None):
        from loop.daemon.workers import WorkerIdentity

        self.config = config
        self.worker: WorkerIdentity = worker or WorkerIdentity.current(config.worker)  # who claims experiments
        self.git = GitRecord(config.repo, config.research_branch)
        self.remote = (ResearchRemote(self.git, config.research_remote_url, self.model_line)
                       if config.research_remote else None)
        self._stack = ExitStack()
        self._runner, self._judge = runner, judge
        self._shared = False  # the judge wrapped in the record's shared slots yet (config.shared_limits)
        self.session_factory = session_factory
        self._embedder = embedder
        self.timings: dict[str, float] = {"evaluate_s": 0.0}

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> "Resources":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    @property
    def runner(self):
        if self._runner is None:
            from loop.runners.factory import open_runner

            self._runner = open_runner(self.config)
            self._stack.callback(self._runner.close)
        return self._runner

    @property
    def judge(self):
        if self._judge is None:
            from loop.judges import make_judge

            self._judge = make_judge(self.config)
        if self.config.shared_limits and not self._shared:
            from loop.daemon.judge_slots import JudgeSlots, SharedJudge

            self._judge, self._shared = SharedJudge(self._judge, JudgeSlots(self.config, self.worker.name)), True
        return self._judge

    @property
    def embedder(self):
        if self._embedder == "default":
            from loop.daemon.guard import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def model_line(self) -> str:
        """The model line key of the runner as it answers now (`loop.model_line`)."""
        from loop.model_line import line_key

        return line_key(self.runner.probe())

    def research_tip(self) -> str:
        """The research branch's tip an experiment branches from: the remote's, fetched, when there is one."""
        return self.remote.sync() if self.remote is not None else self.git.research_tip()

    def advance_research(self, commit: str, expected_tip: str) -> bool:
        """Move the research branch from `expected_tip` to `commit`: on the remote by compare-and-swap
        when there is one (False when another worker moved it first), else locally."""
        if self.remote is not None:
            return self.remote.advance(commit, expected_tip)
        return self.git.advance_research(commit, expected_tip)

    def ruler_id(self) -> str:
        return ruler_id(self.config.ruler_dir, self.judge.judge_id)

    # --- scoring --------------------------------------------------------------------------------
    def evaluate(self, gate: str, workspace: Path, *, kind: str = "official", experiment_number: int | None = None,
                 use_cache: bool = True, record: bool = True, should_stop=None):
        from loop.evaluate import evaluate

        started = time.perf_counter()
        session_cm = self.session_factory(Path(workspace)) if self.session_factory else nullcontext(None)
        try:
            with session_cm as session:
                return evaluate(self.config, gate, workspace=Path(workspace), session=session, runner=self.runner,
                                judge=self.judge, kind=kind, experiment_number=experiment_number, progress=False,
                                record=record, use_cache=use_cache, should_stop=should_stop)
        finally:
            self.timings["evaluate_s"] += time.perf_counter() - started

    def run_task(self, task: str, workspace: Path):
        """`workspace`'s pipeline on one task, through the sandboxed session an evaluation uses (the
        injected session factory, else `loop.evaluate.pipeline_session` on this runner): a
        `PipelineResult` (answer, error, trace), bounded by `config.case_timeout_s`. Nothing is judged
        or recorded."""
        from loop.adapters.resolve import check_workspace_adapters
        from loop.adapters.store import open_store
        from loop.evaluate import pipeline_session

        workspace = Path(workspace)
        check_workspace_adapters(workspace, open_store(self.config))  # as evaluate: a broken pointer refuses
        session_cm = (self.session_factory(workspace) if self.session_factory
                      else pipeline_session(self.config, workspace, self.runner))
        with session_cm as session:
            return session.run_case(task)
