"""`autoresearch show N`: one experiment as a person reads it; `show N --json` for machines
(`experiment_json`: the row, the keep decision's rounds, the holdout's verdict, every evaluation)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from sqlalchemy import select

from loop.config import Config
from loop.daemon.keep import case_score
from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import session_scope

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


def _fmt(value, spec=".4f") -> str:
    return "—" if value is None else format(value, spec)


RECORD_FIELDS = ("number", "status", "step", "reason", "operator", "lever", "lever_claimed", "agent", "parent", "parent_commit",
                 "commit", "gate", "quality", "delta", "dims", "wins", "ties", "losses", "ruler_id", "judge_id",
                 "runner_model", "runner_version", "model_line", "model_identity", "hypothesis", "method",
                 "agent_cost_usd", "agent_turns", "agent_claimed_quality", "durations", "started_at", "finished_at")
JUDGE_FIELDS = ("judge_input_tokens", "judge_output_tokens", "judge_cache_read_tokens", "judge_cache_write_tokens",
                "judge_cost_usd")  # per experiment (the sum of its evaluations) and per evaluation


def experiment_json(config: Config, number: int) -> dict | None:
    """Experiment `number` as one JSON-ready object, or None when the record has no such experiment."""
    with session_scope(config) as db:
        row = db.get(Experiment, number)
        if row is None:
            return None
        evaluations = list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == number)
                                      .order_by(Evaluation.id)))
        record = {name: getattr(row, name) for name in RECORD_FIELDS}
        record["judge_usage"] = {name.removeprefix("judge_"): getattr(row, name) for name in JUDGE_FIELDS}
        record["decision"] = row.decision
        record["holdout"] = None if row.holdout_quality is None else {
            "quality": row.holdout_quality, **{k: v for k, v in (row.holdout_check or {}).items() if k != "quality"}}
        record["goodhart_gap"], record["goodhart_drift"] = row.goodhart_gap, row.goodhart_drift
        record["suspected_overfit"] = bool((row.holdout_check or {}).get("suspected_overfit"))
        record["evaluations"] = [{
            "id": e.id, "kind": e.kind, "gate": e.gate, "quality": e.quality, "judge_errors": e.judge_errors,
            "judge_calls": e.judge_calls, "subject_experiment": e.subject_experiment, "model_line": e.model_line,
            "ruler_id": e.ruler_id, **{name: getattr(e, name) for name in JUDGE_FIELDS}} for e in evaluations]
    for key in ("started_at", "finished_at"):
        record[key] = record[key].isoformat() if record[key] is not None else None
    return record


def render_experiment(config: Config, number: int, out: Console) -> bool:
    with session_scope(config) as db:
        row = db.get(Experiment, number)
        if row is None:
            return False
        evaluation = db.scalars(select(Evaluation).where(
            Evaluation.experiment_number == number, Evaluation.kind == "official")
            .order_by(Evaluation.id.desc())).first()
        cases = list(db.scalars(select(CaseResult).where(CaseResult.evaluation_id == evaluation.id)
                                .order_by(CaseResult.case_id))) if evaluation else []
    claim = f" (agent claimed {row.lever_claimed})" if row.lever_claimed and row.lever_claimed != row.lever else ""
    out.print(f"[bold]experiment {row.number:04d}[/] — {row.status} (step {row.step}), {row.operator}, "
              f"lever {row.lever}{claim}, agent {row.agent or '—'}, parent {row.parent if row.parent is not None else '—'}")
    out.print(f"[bold]hypothesis[/]\n{escape(row.hypothesis or '(none stated)')}")
    out.print(f"[bold]method[/]\n{escape(row.method or '(none stated)')}")
    out.print(f"[bold]result[/] {escape(row.reason or '')}")
    dims = ", ".join(f"{k} {v:.2f}" for k, v in (row.dims or {}).items())
    out.print(f"quality {_fmt(row.quality)} (delta {_fmt(row.delta, '+.4f')}) on the {row.gate or '—'} gate; "
              f"W/T/L {row.wins}/{row.ties}/{row.losses}; {dims}", highlight=False)
    if row.decision and row.decision.get("confirm"):
        c = row.decision["confirm"]
        out.print(f"confirmation on fresh draws: {'passed' if c['keep'] else 'failed'} (delta {c['delta']:+.4f}, "
                  f"{c['p_improve']:.1%} of resamples improve)", highlight=False)
    if row.holdout_quality is not None:
        check = row.holdout_check or {}
        flag = " — SUSPECTED OVERFIT: " + escape(check.get("reason", "")) if check.get("suspected_overfit") else ""
        out.print(f"holdout {row.holdout_quality:.4f}; Goodhart gap {row.goodhart_gap:+.4f}, drift "
                  f"{row.goodhart_drift:+.4f} since the line's baseline{flag}", highlight=False)
    out.print(f"ruler {row.ruler_id or '—'} · judge {row.judge_id or '—'} · runner {row.runner_model or '—'} "
              f"{row.runner_version or ''} · commit {row.commit or '—'}", highlight=False)
    cost = f"${row.agent_cost_usd:.2f}" if row.agent_cost_usd is not None else "—"
    if row.judge_cost_usd is not None:
        out.print(f"judge: cost ${row.judge_cost_usd:.4f}, tokens in {row.judge_input_tokens}, out "
                  f"{row.judge_output_tokens}, cache read {row.judge_cache_read_tokens}", highlight=False)
    out.print(f"agent: cost {cost}, turns {row.agent_turns if row.agent_turns is not None else '—'}, "
              f"tokens {row.agent_tokens or '—'}, denials {len(row.agent_denials or [])}; "
              f"durations {row.durations or {}}", highlight=False)
    if cases:
        table = Table(title=f"{evaluation.gate} gate, evaluation {evaluation.id}")
        for column in ("case", "verdict", *[d[:5] for d in DIMS], "score", "notes"):
            table.add_column(column)
        for case in cases:
            score = case_score(case.verdict, {d: getattr(case, d) for d in DIMS})
            table.add_row(case.case_id, case.verdict or "—", *[str(getattr(case, d) or "—") for d in DIMS],
                          _fmt(score, ".3f"), escape((case.invalid_reason or case.failure_notes or "")[:80]))
        out.print(table)
    if row.diff:
        out.print(Syntax(row.diff, "diff", word_wrap=True))
    return True
