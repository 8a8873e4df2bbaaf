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
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel
from sqlalchemy import select

from loop.daemon.keep import PairedBootstrapPolicy, scores_from_outcomes
from loop.db.models import CaseResult, Evaluation
from loop.db.session import session_scope
from loop.ruler_files import gate_cases
from loop.runners.protocol import Backend
from loop.schemas import Answer, CaseJudgement, CaseOutcome, DimScores
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

    def _judge_one(self, case, outcome: CaseOutcome) -> CaseJudgement:
        try:
            return self.judge.judge(case, outcome.candidate)
        except Exception as exc:  # a judge must not raise; one that does gives a judge error, never a score
            return CaseJudgement(dims=None, verdict_candidate_first=None, verdict_gold_first=None, verdict=None,
                                 error=f"judge raised {type(exc).__name__}: {exc}")

    def rejudge(self, report, *, kind: str, experiment_number: int | None, subject: int | None):
        """`report`'s outputs judged again (invalid outputs keep their invalid verdict); a new report."""
        cases = {c.id: c for c in gate_cases(self.config.ruler_dir, report.gate)}
        outcomes = [o.model_copy(deep=True) for o in report.outcomes]
        to_judge = [o for o in outcomes if o.candidate is not None and not o.invalid_reason and o.case_id in cases]
        with ThreadPoolExecutor(self.config.judge_concurrency, thread_name_prefix=f"rejudge-{kind}") as pool:
            judgements = list(pool.map(lambda o: self._judge_one(cases[o.case_id], o), to_judge))
        for outcome, judgement in zip(to_judge, judgements):
            outcome.judgement, outcome.from_cache = judgement, False
        for outcome in outcomes:
            if outcome.judgement is None:
                outcome.judgement = invalid_candidate_judgement(outcome.invalid_reason or "no answer")
        fresh = report.model_copy(update={
            "kind": kind, "outcomes": outcomes, "evaluation_id": None, "model_calls": 0,
            "summary": summarize([o.judgement for o in outcomes], mode=getattr(self.judge, "mode", "standard")),
            "judge_calls": sum(j.judge_calls for j in judgements)})
        if self.record:
            fresh.evaluation_id = record_round(self.config, fresh, experiment_number, subject)
        return fresh

    def confirm_round(self, candidate_report, incumbent_evaluation_id: int, incumbent_number: int, number: int):
        """Fresh draws on both sides of a keep decision: (candidate scores, incumbent scores, evaluation ids)."""
        incumbent_report = stored_report(self.config, incumbent_evaluation_id)
        candidate = self.rejudge(candidate_report, kind="confirm", experiment_number=number, subject=number)
        incumbent = self.rejudge(incumbent_report, kind="confirm", experiment_number=number, subject=incumbent_number)
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


def record_round(config, report, experiment_number: int | None, subject: int | None) -> int:
    """Record a re-judging round as an evaluation that names whose outputs it judged."""
    from loop.eval_record import record_evaluation

    evaluation_id = record_evaluation(config, report, experiment_number)
    with session_scope(config) as db:
        db.get(Evaluation, evaluation_id).subject_experiment = subject
    return evaluation_id
