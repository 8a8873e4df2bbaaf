"""The evaluation harness: run the pipeline on every gate task through a runner, judge each answer
against the gold, summarise into one quality number, and record it.

Generation is sequential (one runner, one model); judging runs concurrently on a bounded thread pool
and overlaps with generation. Both are cached (see loop/eval_cache.py), so re-evaluating an unchanged
workspace makes zero model calls and zero judge calls.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from pydantic import BaseModel

from loop.adapters.resolve import check_workspace_adapters
from loop.adapters.store import open_store
from loop.case_failures import cacheable, infrastructure_reason
from loop.config import Config
from loop.eval_cache import EvalCache, generation_key, verdict_key, verdict_owner
from loop.eval_progress import EvalProgress
from loop.eval_record import record_evaluation
from loop.errors import InfrastructureError
from loop.judging import guarded, pause, retry_failed
from loop.ruler_files import gate_cases, ruler_id
from loop.runners.protocol import Backend
from loop.schemas import Answer, Case, CaseJudgement, CaseOutcome, JudgeUsage, QualitySummary
from loop.workspace import workspace_hash
from ruler.scoring import invalid_candidate_judgement, summarize


class EvaluationStopped(Exception):
    """`should_stop` answered truthy before a case: the cases done stay cached, nothing is recorded."""

    def __init__(self, reason: str, done: int, total: int):
        super().__init__(f"{reason} after {done} of {total} cases")
        self.reason, self.done, self.total = reason, done, total


class EvaluationReport(BaseModel):
    evaluation_id: int | None
    gate: str
    kind: str
    ruler_id: str
    judge_id: str
    workspace_hash: str
    backend: Backend
    confinement: str | None = None  # how the pipeline was confined: bwrap | sandbox-exec | none
    summary: QualitySummary
    outcomes: list[CaseOutcome]
    model_calls: int
    judge_calls: int
    wall_s: float


def evaluate(
    config: Config,
    gate: str,
    *,
    workspace: Path | None = None,
    session=None,
    runner=None,
    judge=None,
    kind: str = "manual",  # the daemon asks for "official" explicitly (Resources.evaluate); nothing else is
    experiment_number: int | None = None,
    progress: bool = True,
    record: bool = True,
    use_cache: bool = True,
    should_stop=None,
) -> EvaluationReport:
    """Score `workspace` (default: the repo's agent_workspace) on a gate ('dev', 'full' or 'holdout').

    Raises `JudgeUnavailable` when judging stays incomplete after re-judging the failed cases, and
    `InfrastructureError` on the first case the product's machinery failed (loop/case_failures.py);
    either way nothing is recorded: an outage is never a score."""
    started = time.perf_counter()
    workspace = Path(workspace or config.workspace_dir)
    check_workspace_adapters(workspace, open_store(config))  # a missing/altered adapter: InputError, no score
    cases = gate_cases(config.ruler_dir, gate)
    confinement = session.mode if session is not None else _confinement(config)  # refuses before any call
    with ExitStack() as stack:
        judge = judge or _make_judge(config)
        runner = runner or stack.enter_context(_open_runner(config))
        backend = runner.probe()
        if backend.name == "cloud":
            kind = "reference"  # a cloud candidate is a ceiling analysis, never the on-device record
        rid = ruler_id(config.ruler_dir, judge.judge_id)
        ws_hash = workspace_hash(workspace)
        cache = EvalCache(config.db_url, enabled=use_cache)
        pipeline = _LazyPipeline(stack, workspace, runner, config, session)
        pool = stack.enter_context(ThreadPoolExecutor(config.judge_concurrency, thread_name_prefix="judge"))
        bar = stack.enter_context(EvalProgress(len(cases), enabled=progress))
        outcomes: list[CaseOutcome] = []
        pending: dict[str, Future] = {}
        model_calls = 0
        for case in cases:
            stop = should_stop() if should_stop is not None else None
            if stop:  # judging already submitted finishes (and is cached) as the pool closes
                raise EvaluationStopped(str(stop), len(outcomes), len(cases))
            outcome, calls, infrastructure = _generate(case, backend, ws_hash, cache, pipeline)
            model_calls += calls
            if infrastructure:  # judging already submitted finishes (and is cached) as the pool closes
                raise InfrastructureError(case.id, infrastructure)
            outcomes.append(outcome)
            bar.generated(case.id)
            if outcome.candidate is None or outcome.invalid_reason:
                outcome.judgement = invalid_candidate_judgement(outcome.invalid_reason or "no answer")
                bar.judged()
            else:
                future = pool.submit(judge_cached, judge, cache, rid, case, outcome.candidate, verdict_owner(kind))
                future.add_done_callback(lambda _f: bar.judged())
                pending[case.id] = future
        for outcome in outcomes:
            if outcome.case_id in pending:
                outcome.judgement = pending[outcome.case_id].result()
        by_id, owner = {c.id: c for c in cases}, verdict_owner(kind)

        def judge_again(o: CaseOutcome) -> CaseJudgement:
            return judge_cached(judge, cache, rid, by_id[o.case_id], o.candidate, owner)

        def wait(seconds: float) -> None:
            stop = pause(seconds, should_stop)
            if stop:
                raise EvaluationStopped(str(stop), len(outcomes), len(cases))

        failed_calls = retry_failed(outcomes, judge_again, pool, retries=config.judge_case_retries,
                                    backoff_s=config.judge_case_backoff_s, gate=gate, on_pause=wait)
    judgements = [o.judgement for o in outcomes]
    report = EvaluationReport(
        evaluation_id=None, gate=gate, kind=kind, ruler_id=rid, judge_id=judge.judge_id,
        workspace_hash=ws_hash, backend=backend, confinement=confinement, summary=summarize(judgements, mode=getattr(judge, "mode", "standard")), outcomes=outcomes,
        model_calls=model_calls, judge_calls=sum(j.judge_calls for j in judgements) + failed_calls,
        wall_s=time.perf_counter() - started,
    )
    if record:
        report.evaluation_id = record_evaluation(config, report, experiment_number)
    return report


def _generate(case: Case, backend: Backend, ws_hash: str, cache: EvalCache,
              pipeline) -> tuple[CaseOutcome, int, str | None]:
    """(outcome, model calls, why the case is an infrastructure error or None)."""
    key = generation_key(ws_hash, backend, case.task)
    hit = cache.get_generation(key)
    if hit is not None:
        answer = Answer.model_validate(hit.answer) if hit.answer else None
        outcome = CaseOutcome(case_id=case.id, task=case.task, candidate=answer,
                              invalid_reason=hit.invalid_reason, trace=hit.trace or [], from_cache=True)
        return _flag_leak(outcome, case), 0, None
    result = pipeline.get().run_case(case.task)
    reason = result.error or (result.answer.shape_problem() if result.answer else "pipeline returned no answer")
    failure = getattr(result, "failure", None)
    outcome = CaseOutcome(case_id=case.id, task=case.task, candidate=result.answer, invalid_reason=reason,
                          trace=result.trace, latency_ms=result.latency_ms)
    if cacheable(result.error, failure, result.trace, result.deterministic):
        cache.put_generation(key, result.answer, reason, result.trace)
    return _flag_leak(outcome, case), result.model_calls, infrastructure_reason(result.error, failure, result.trace)


def _flag_leak(outcome: CaseOutcome, case: Case) -> CaseOutcome:
    from loop.sandbox.leak import gold_leak

    if outcome.candidate is not None and not outcome.invalid_reason:
        leak = gold_leak(outcome.candidate, case.gold)
        if leak:
            outcome.gold_leak = True
            outcome.invalid_reason = f"gold leak: {leak if isinstance(leak, str) else 'near-copy of the gold'}"
    return outcome


def judge_cached(judge, cache: EvalCache, rid: str, case: Case, candidate: Answer, owner: str | None) -> CaseJudgement:
    key = verdict_key(rid, judge.judge_id, case.task, candidate, owner) if owner else None
    hit = cache.get_verdict(key) if key else None
    if hit is not None and hit.error is None:
        return hit.model_copy(update={"judge_calls": 0, "usage": JudgeUsage()})  # a cached verdict costs nothing
    judgement = guarded(lambda: judge.judge(case, candidate))
    if key and judgement.error is None:  # a failed judging is never reused: it is retried
        cache.put_verdict(key, judgement)
    return judgement


class _LazyPipeline:
    """Starts the sandboxed pipeline worker only on the first cache miss."""

    def __init__(self, stack: ExitStack, workspace: Path, runner, config: Config, session):
        self._stack, self._workspace, self._runner, self._config = stack, workspace, runner, config
        self._session = session

    def get(self):
        if self._session is None:
            self._session = self._stack.enter_context(pipeline_session(self._config, self._workspace, self._runner))
        return self._session


def pipeline_session(config: Config, workspace: Path, runner):
    """The sandboxed worker an evaluation runs `workspace`'s pipeline in (one per evaluation; also the
    agent's `run_task` tool: the same confinement, per-case timeout and adapter store)."""
    from loop.sandbox.session import PipelineSession

    return PipelineSession(Path(workspace), runner, case_timeout_s=config.case_timeout_s, sandbox=config.sandbox,
                           unconfined=config.unconfined, adapter_store=open_store(config))


def _confinement(config: Config) -> str:
    """The confinement pipelines will run under. Raises UnconfinedRefused when none works here and the
    user did not pass --unconfined (the CLI checks first and prints the same message)."""
    from loop.sandbox.confine import resolve_mode

    return resolve_mode(config.sandbox, allow_unconfined=config.unconfined)


def _make_judge(config: Config):
    from loop.judges import make_judge

    return make_judge(config)


def _open_runner(config: Config):
    from loop.runners.factory import open_runner

    return open_runner(config)
