"""`autoresearch train drafts --n K`: the current best pipeline's own answers to training-pool tasks, the
rejected side of preference data (`train data pref` takes each task's lowest-scored draft).

As an evaluation does: the workspace's pipeline runs sandboxed (`PipelineSession`) through the configured
runner, answers come from and go to the record's generation cache (`loop/eval_cache.py`: a greedy draft
under the very key an evaluation uses, so a task already evaluated costs no model call; a sampled one
under its seed) and each answer is judged by the proxy judge (verdict cache, owner `manual`). Per task:
one greedy draft and K-1 sampled ones (the pipeline's model calls forced to `random` sampling with
seeds 1..K-1). Each draft is appended to the JSONL file as soon as it is judged, so a killed run resumes
where it stopped (drafts already in the file are skipped).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from pydantic import BaseModel, Field

from loop.config import Config
from loop.errors import InputError
from loop.runners.protocol import Backend, Request, Response, Sampling
from loop.schemas import Answer, Case, CaseJudgement

SAMPLE_TEMPERATURE = 0.8


class Draft(BaseModel):
    """One line of the drafts file."""

    id: str  # the pool task's id
    task: str
    draw: str  # "greedy" or "sample-<seed>"
    answer: Answer | None
    invalid_reason: str | None = None
    judge_id: str
    judgement: CaseJudgement | None
    score: float | None  # the judge's quality of this one answer, 0..1 (an invalid answer scores as a loss)
    from_cache: bool = False


class DraftsReport(BaseModel):
    out: str
    tasks: int
    draws_per_task: int
    written: int  # new drafts this run
    already: int  # drafts found in the file (resumed)
    from_cache: int
    model_calls: int
    invalid: int
    judge_id: str
    backend: Backend | None = None
    scores: dict[str, float] = Field(default_factory=dict)  # pool id -> its worst draft's score


class ForcedSampling:
    """Stands in for the runner client: forwards every request, with the sampling of a draw forced."""

    def __init__(self, client):
        self.client, self.sampling = client, None

    def probe(self) -> Backend:
        return self.client.probe()

    def call(self, request: Request) -> Response:
        if self.sampling is not None and request.op == "generate":
            request = request.model_copy(update={"sampling": self.sampling})
        return self.client.call(request)

    def close(self) -> None:
        pass


def draws(n: int) -> list[tuple[str, Sampling | None]]:
    """(name, forced sampling) per draft of a task: the pipeline's own (greedy) call first."""
    if n < 1:
        raise ValueError("--n must be at least 1 (one greedy draft per task)")
    return [("greedy", None)] + [(f"sample-{seed}", Sampling(mode="random", temperature=SAMPLE_TEMPERATURE,
                                                              seed=seed)) for seed in range(1, n)]


def already_written(out: Path) -> dict[tuple[str, str], Draft]:
    if not out.exists():
        return {}
    done = {}
    for number, line in enumerate(out.read_text().splitlines(), 1):
        if line.strip():
            try:
                draft = Draft.model_validate_json(line)
            except ValueError as exc:
                raise InputError(out, f"not a drafts file line: {str(exc).splitlines()[0]}", line=number) from None
            done[(draft.id, draft.draw)] = draft
    return done


def generate_drafts(config: Config, out: Path, n: int, *, limit: int | None = None, runner=None, judge=None,
                    workspace: Path | None = None, progress: bool = True) -> DraftsReport:
    from tqdm import tqdm

    from loop.adapters.resolve import check_workspace_adapters
    from loop.adapters.store import open_store
    from loop.case_failures import cacheable
    from loop.eval_cache import EvalCache, draft_key, generation_key
    from loop.evaluate import judge_cached
    from loop.judges import make_judge
    from loop.ruler_files import load_cases, ruler_id
    from loop.runners.factory import open_runner
    from loop.sandbox.session import PipelineSession
    from loop.training.data import POOL
    from loop.workspace import workspace_hash
    from ruler.scoring import invalid_candidate_judgement, summarize

    plan = draws(n)
    workspace = Path(workspace or config.workspace_dir)
    cases: list[Case] = load_cases(workspace / POOL)[:limit]
    if not cases:
        raise InputError(workspace / POOL, "no training-pool tasks to draft")
    out = Path(out)
    done = already_written(out)
    todo = [(case, name, sampling) for case in cases for name, sampling in plan if (case.id, name) not in done]
    check_workspace_adapters(workspace, open_store(config))
    judge = judge or make_judge(config, "proxy")
    rid = ruler_id(config.ruler_dir, judge.judge_id)
    cache = EvalCache(config.db_url)
    mode = getattr(judge, "mode", "standard")
    written = cached = calls = invalid = 0
    backend = None
    out.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if todo:
            client = ForcedSampling(runner or stack.enter_context(open_runner(config)))
            backend = client.probe()
            ws_hash = workspace_hash(workspace)
            session = stack.enter_context(PipelineSession(
                workspace, client, case_timeout_s=config.case_timeout_s, sandbox=config.sandbox,
                unconfined=config.unconfined, adapter_store=open_store(config)))
            sink = stack.enter_context(out.open("a", encoding="utf-8"))
        bar = stack.enter_context(tqdm(total=len(todo), disable=not progress, desc="drafts", unit="draft"))
        for case, name, sampling in todo:
            key = generation_key(ws_hash, backend, case.task) if sampling is None else \
                draft_key(ws_hash, backend, case.task, sampling.model_dump())
            hit = cache.get_generation(key)
            if hit is not None:
                answer = Answer.model_validate(hit.answer) if hit.answer else None
                reason, cached = hit.invalid_reason, cached + 1
            else:
                client.sampling = sampling
                result = session.run_case(case.task)
                answer, calls = result.answer, calls + result.model_calls
                reason = result.error or (answer.shape_problem() if answer else "pipeline returned no answer")
                failure = getattr(result, "failure", None)
                # a seeded draw is reproducible; a greedy one is cached exactly as an evaluation caches it
                if cacheable(result.error, failure, result.trace, result.deterministic or sampling is not None):
                    cache.put_generation(key, answer, reason, result.trace)
            if answer is None or reason:
                judgement, invalid = invalid_candidate_judgement(reason or "no answer"), invalid + 1
            else:
                judgement = judge_cached(judge, cache, rid, case, answer, "manual")
            score = summarize([judgement], mode=mode).quality if judgement.error is None else None
            draft = Draft(id=case.id, task=case.task, draw=name, answer=answer if not reason else None,
                          invalid_reason=reason, judge_id=judge.judge_id, judgement=judgement, score=score,
                          from_cache=hit is not None)
            sink.write(draft.model_dump_json() + "\n")
            sink.flush()
            done[(case.id, name)] = draft
            written += 1
            bar.update()
            bar.set_postfix(task=case.id, score=f"{score:.2f}" if score is not None else "error")
    scores: dict[str, float] = {}
    for draft in done.values():
        if draft.score is not None:
            scores[draft.id] = min(scores.get(draft.id, 1.0), draft.score)
    return DraftsReport(out=str(out), tasks=len(cases), draws_per_task=n, written=written,
                        already=len(cases) * n - len(todo),
                        from_cache=cached, model_calls=calls, invalid=invalid, judge_id=judge.judge_id,
                        backend=backend, scores=scores)
