"""The one re-judging service: fresh judge draws on outputs that were already generated.

Generations are deterministic under greedy decoding and are reused; verdicts are drawn again, with
no verdict cache at all, so none of these rounds can inherit a lucky draw (the agent's or an earlier
official one). It serves:

- the confirmation round of a keep decision (`confirm_round`): the candidate's and the incumbent's
  full-gate outputs judged again, two evaluations of kind `confirm` recorded under the candidate's
  experiment number, each naming whose outputs it judged (`subject_experiment`);
- the noise floor of each new incumbent (`loop.daemon.noise.measure_noise_floor`, kind `noise`);
- drift checks (`judge_drift`, kind `drift`, scheduled by `loop.daemon.drift`): a stored evaluation
  judged again and compared case by case, to see whether the judge behind an unchanged judge id still
  says what it said;
- re-baselining on a new model line, which re-judges the new line's baseline for its noise floor.

A round the daemon may have to resume (the confirmation round, a new incumbent's noise floor) names
itself (`owner`): its draws are kept in the verdict cache under that name alone, so a round a stop
interrupted continues with the verdicts it already drew, and a finished round that is recorded is
read back (`recorded_evaluation`) instead of drawn again. Nothing else reads those draws: resuming
can never re-roll the luck of a round, and no other round inherits it. `should_stop` is asked
before each case; a stop raises `EvaluationStopped` (the draws made so far stay cached).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel
from sqlalchemy import select

from loop.daemon.keep import PairedBootstrapPolicy, scores_from_outcomes
from loop.db.models import CaseResult, Evaluation
from loop.db.session import session_scope
from loop.eval_cache import EvalCache, verdict_key
from loop.judging import guarded, retry_failed
from loop.ruler_files import gate_cases
from loop.runners.protocol import Backend
from loop.schemas import Answer, CaseJudgement, CaseOutcome, DimScores, JudgeUsage
from ruler.scoring import invalid_candidate_judgement, summarize

log = logging.getLogger("loop.daemon")
DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


def _judgement_from_row(row: CaseResult) -> CaseJudgement:
    dims = {d: getattr(row, d) for d in DIMS}
    return CaseJudgement(dims=DimScores(**dims) if all(v is not None for v in dims.values()) else None,
                         verdict_candidate_first=row.verdict_candidate_first, verdict_gold_first=row.verdict_gold_first,
                         verdict=row.verdict, reasoning=row.reasoning or "", failure_notes=row.failure_notes or "",
                         error=row.judge_error, judge_calls=0)


def stored_report(config, evaluation_id: int):
    """A recorded evaluation read back as an `EvaluationReport` (its outputs and verdicts as stored)."""
    from loop.evaluate import EvaluationReport

    with session_scope(config) as db:
        ev = db.get(Evaluation, evaluation_id)
        rows = list(db.scalars(select(CaseResult).where(CaseResult.evaluation_id == evaluation_id)
                               .order_by(CaseResult.id)))
        outcomes = [CaseOutcome(case_id=r.case_id, task=r.task,
                                candidate=Answer.model_validate(r.candidate) if r.candidate else None,
                                invalid_reason=r.invalid_reason, judgement=_judgement_from_row(r),
                                gold_leak=r.gold_leak, latency_ms=r.latency_ms, from_cache=True) for r in rows]
        identity = ev.model_identity or {}
        backend = Backend(name=ev.runner_backend or identity.get("backend") or "replay", model=ev.runner_model,
                          model_version=ev.runner_version, os_build=identity.get("os_build"),
                          adapter_signature=identity.get("adapter_signature"),
                          model_variant=identity.get("variant"),
                          base_model_signature=identity.get("base_model_signature"))
        return EvaluationReport(
            evaluation_id=ev.id, gate=ev.gate, kind=ev.kind, ruler_id=ev.ruler_id, judge_id=ev.judge_id,
            workspace_hash=ev.workspace_hash, backend=backend,
            summary=summarize([o.judgement for o in outcomes]), outcomes=outcomes, model_calls=0,
            judge_calls=0, wall_s=0.0)


class Rejudger:
    """Fresh draws of `judge` on stored or just-produced outputs; records each round unless `record=False`."""

    def __init__(self, config, judge, *, record: bool = True):
        self.config, self.judge, self.record = config, judge, record

    def rejudge(self, report, *, kind: str, experiment_number: int | None, subject: int | None, record=None,
                owner: str | None = None, should_stop=None):
        """`report`'s outputs judged again (invalid outputs keep their invalid verdict); a new report.
        Raises JudgeUnavailable (nothing recorded) when judging stays incomplete after re-judging the
        failed cases (loop/judging.py). `owner`: this round's own verdict cache (see the module doc)."""
        from loop.evaluate import EvaluationStopped

        cases = {c.id: c for c in gate_cases(self.config.ruler_dir, report.gate)}
        outcomes = [o.model_copy(deep=True) for o in report.outcomes]
        to_judge = [o for o in outcomes if o.candidate is not None and not o.invalid_reason and o.case_id in cases]
        cache = EvalCache(self.config.db_url, enabled=owner is not None)
        stopped: list[str] = []

        def draw(o: CaseOutcome) -> CaseJudgement:
            key = verdict_key(report.ruler_id, self.judge.judge_id, o.task, o.candidate, owner) if owner else None
            hit = cache.get_verdict(key) if key else None
            if hit is not None:  # this round's own draw, made before a stop: the same verdict, no new call
                return hit.model_copy(update={"judge_calls": 0, "usage": JudgeUsage()})
            judgement = guarded(lambda: self.judge.judge(cases[o.case_id], o.candidate))
            if key:
                cache.put_verdict(key, judgement)  # judge errors are never cached
            return judgement

        def judge_one(o: CaseOutcome) -> CaseJudgement | None:
            stop = should_stop() if should_stop is not None else None
            if stop:
                stopped.append(str(stop))
                return None
            return draw(o)

        with ThreadPoolExecutor(self.config.judge_concurrency, thread_name_prefix=f"rejudge-{kind}") as pool:
            judgements = list(pool.map(judge_one, to_judge))
            if stopped:
                raise EvaluationStopped(stopped[0], sum(j is not None for j in judgements), len(to_judge))
            for outcome, judgement in zip(to_judge, judgements):
                outcome.judgement, outcome.from_cache = judgement, False
            failed_calls = retry_failed(to_judge, draw, pool, retries=self.config.judge_case_retries,
                                        backoff_s=self.config.judge_case_backoff_s, gate=report.gate)
        judgements = [o.judgement for o in to_judge]
        for outcome in outcomes:
            if outcome.judgement is None:
                outcome.judgement = invalid_candidate_judgement(outcome.invalid_reason or "no answer")
        fresh = report.model_copy(update={
            "kind": kind, "outcomes": outcomes, "evaluation_id": None, "model_calls": 0,
            "summary": summarize([o.judgement for o in outcomes], mode=getattr(self.judge, "mode", "standard")),
            "judge_calls": sum(j.judge_calls for j in judgements) + failed_calls})
        if self.record if record is None else record:
            fresh.evaluation_id = record_round(self.config, fresh, experiment_number, subject)
        return fresh

    def confirm_round(self, candidate_report, incumbent_evaluation_id: int, incumbent_number: int, number: int,
                      should_stop=None):
        """Fresh draws on both sides of a keep decision: (candidate scores, incumbent scores, evaluation ids).
        Experiment `number` has one confirmation round: a resumed decision reuses it (recorded, or the
        draws it made before a stop), never a new one."""
        ids = [recorded_evaluation(self.config, number, "confirm", subject=s) for s in (number, incumbent_number)]
        if all(ids):
            candidate, incumbent = (stored_report(self.config, i) for i in ids)
            log.info("experiment %04d: the confirmation round recorded before the stop is reused", number)
            return scores_from_outcomes(candidate.outcomes), scores_from_outcomes(incumbent.outcomes), ids
        incumbent_report = stored_report(self.config, incumbent_evaluation_id)
        # both sides judged before either is recorded: a round the judge broke off leaves no half in the record
        candidate = self.rejudge(candidate_report, kind="confirm", experiment_number=number, subject=number,
                                 record=False, owner=f"confirm/{number}/{number}", should_stop=should_stop)
        incumbent = self.rejudge(incumbent_report, kind="confirm", experiment_number=number, subject=incumbent_number,
                                 record=False, owner=f"confirm/{number}/{incumbent_number}", should_stop=should_stop)
        if self.record:
            candidate.evaluation_id = record_round(self.config, candidate, number, number)
            incumbent.evaluation_id = record_round(self.config, incumbent, number, incumbent_number)
        log.info("experiment %04d: confirmation round on fresh draws: %.4f vs incumbent %04d %.4f", number,
                 candidate.summary.quality, incumbent_number, incumbent.summary.quality)
        ids = [e for e in (candidate.evaluation_id, incumbent.evaluation_id) if e is not None]
        return scores_from_outcomes(candidate.outcomes), scores_from_outcomes(incumbent.outcomes), ids

    def judge_drift(self, evaluation_id: int, number: int | None, *, confidence: float = 0.975) -> "Drift":
        """Has the judge drifted? A stored evaluation judged again (kind `drift`); the paired rule both ways.
        The daemon schedules it (`loop.daemon.drift`)."""
        stored = stored_report(self.config, evaluation_id)
        fresh = self.rejudge(stored, kind="drift", experiment_number=number, subject=number)
        policy = PairedBootstrapPolicy(confidence=confidence, seed=evaluation_id)
        now, then = scores_from_outcomes(fresh.outcomes), scores_from_outcomes(stored.outcomes)
        up, down = policy.decide(now, then), policy.decide(then, now)
        found = up if up.keep or not down.keep else down
        return Drift(drifted=up.keep or down.keep, delta=up.delta, cases=up.cases, reason=found.reason,
                     evaluation_id=fresh.evaluation_id)


class Drift(BaseModel):
    drifted: bool  # the fresh judging differs from the stored one at the keep rule's confidence
    delta: float  # mean per-case (fresh - stored)
    cases: int
    reason: str
    evaluation_id: int | None = None  # the recorded re-judging round


def recorded_evaluation(config, number: int, kind: str, *, gate: str | None = None, subject: int | None = None,
                        ruler_id: str | None = None) -> int | None:
    """The newest evaluation of `kind` recorded under experiment `number` (for `gate`, judging `subject`'s
    outputs, under `ruler_id`, where given): the work a resumed experiment does not do again."""
    query = select(Evaluation.id).where(Evaluation.experiment_number == number, Evaluation.kind == kind)
    if gate is not None:
        query = query.where(Evaluation.gate == gate)
    if subject is not None:
        query = query.where(Evaluation.subject_experiment == subject)
    if ruler_id is not None:
        query = query.where(Evaluation.ruler_id == ruler_id)
    with session_scope(config) as db:
        return db.scalars(query.order_by(Evaluation.id.desc())).first()


def record_round(config, report, experiment_number: int | None, subject: int | None) -> int:
    """Record a re-judging round as an evaluation that names whose outputs it judged."""
    from loop.eval_record import record_evaluation

    evaluation_id = record_evaluation(config, report, experiment_number)
    with session_scope(config) as db:
        db.get(Evaluation, evaluation_id).subject_experiment = subject
    return evaluation_id
