"""`autoresearch show N`: one experiment as a person reads it."""

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
    out.print(f"[bold]experiment {row.number:04d}[/] — {row.status} (step {row.step}), {row.operator}, "
              f"lever {row.lever}, agent {row.agent or '—'}, parent {row.parent if row.parent is not None else '—'}")
    out.print(f"[bold]hypothesis[/]\n{escape(row.hypothesis or '(none stated)')}")
    out.print(f"[bold]method[/]\n{escape(row.method or '(none stated)')}")
    out.print(f"[bold]result[/] {escape(row.reason or '')}")
    dims = ", ".join(f"{k} {v:.2f}" for k, v in (row.dims or {}).items())
    out.print(f"quality {_fmt(row.quality)} (delta {_fmt(row.delta, '+.4f')}) on the {row.gate or '—'} gate; "
              f"W/T/L {row.wins}/{row.ties}/{row.losses}; {dims}", highlight=False)
    out.print(f"ruler {row.ruler_id or '—'} · judge {row.judge_id or '—'} · runner {row.runner_model or '—'} "
              f"{row.runner_version or ''} · commit {row.commit or '—'}", highlight=False)
    cost = f"${row.agent_cost_usd:.2f}" if row.agent_cost_usd is not None else "—"
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
