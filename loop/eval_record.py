"""Writing an evaluation into the record: the ruler row (once), the evaluation, one row per case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loop.db.models import CaseResult, Evaluation, Ruler
from loop.db.session import session_scope
from loop.model_line import ModelIdentity
from loop.judges.agreement import flip_rate, is_llm_judge
from loop.ruler_lock import snapshot
from loop.schemas import JudgeUsage

if TYPE_CHECKING:
    from loop.config import Config
    from loop.evaluate import EvaluationReport


def ensure_ruler(db, config: "Config", rid: str, judge_id: str) -> None:
    if db.get(Ruler, rid) is None:
        files = {path: entry["sha256"] for path, entry in snapshot(config.ruler_dir).items()}
        db.add(Ruler(id=rid, judge_id=judge_id, judge_mode=config.judge_mode, files=files))
        db.flush()


def record_evaluation(config: "Config", report: "EvaluationReport", experiment_number: int | None) -> int:
    """Store the whole evaluation in one transaction; returns its id."""
    s = report.summary
    usage = JudgeUsage.total(o.judgement.usage for o in report.outcomes if o.judgement is not None)
    identity = ModelIdentity.of(report.backend)
    with session_scope(config) as db:
        ensure_ruler(db, config, report.ruler_id, report.judge_id)
        evaluation = Evaluation(
            experiment_number=experiment_number, kind=report.kind, gate=report.gate, ruler_id=report.ruler_id,
            judge_id=report.judge_id, workspace_hash=report.workspace_hash, runner_backend=report.backend.name,
            runner_model=report.backend.model, runner_version=report.backend.model_version,
            quality=s.quality, pairwise=s.pairwise, rubric=s.rubric, dims=s.dims, wins=s.wins, ties=s.ties,
            losses=s.losses, judge_errors=s.judge_errors, model_calls=report.model_calls,
            judge_calls=report.judge_calls, wall_s=report.wall_s, confinement=report.confinement,
            model_line=identity.line_key(), model_identity=identity.model_dump(),
            position_flip_rate=flip_rate(report.outcomes) if is_llm_judge(report.judge_id) else None,
            judge_input_tokens=usage.input_tokens, judge_output_tokens=usage.output_tokens,
            judge_cache_read_tokens=usage.cache_read_tokens, judge_cache_write_tokens=usage.cache_creation_tokens,
            judge_cost_usd=usage.cost_usd,
        )
        for outcome in report.outcomes:
            j = outcome.judgement
            dims = j.dims.model_dump() if j and j.dims else {}
            evaluation.cases.append(CaseResult(
                case_id=outcome.case_id, task=outcome.task,
                candidate=outcome.candidate.model_dump() if outcome.candidate else None,
                invalid_reason=outcome.invalid_reason, verdict_candidate_first=j.verdict_candidate_first if j else None,
                verdict_gold_first=j.verdict_gold_first if j else None, verdict=j.verdict if j else None,
                reasoning=j.reasoning if j else None, failure_notes=j.failure_notes if j else None,
                judge_error=j.error if j else None, gold_leak=outcome.gold_leak, trace=outcome.trace,
                latency_ms=outcome.latency_ms, from_cache=outcome.from_cache, **dims,
            ))
        db.add(evaluation)
        db.flush()
        return evaluation.id
