"""Printing an evaluation report: greppable `key: value` lines, then tables a person reads."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loop.schemas import DIMENSIONS


def render_report(report, console: Console | None = None) -> None:
    console = console or Console()
    s = report.summary
    lines = {
        "quality": f"{s.quality:.4f}", "pairwise": f"{s.pairwise:.4f}", "rubric": f"{s.rubric:.4f}",
        "wtl": f"{s.wins}/{s.ties}/{s.losses}", "judge_errors": s.judge_errors, "gate": report.gate,
        "ruler": report.ruler_id[:12], "judge": report.judge_id,
        "runner": f"{report.backend.name}:{report.backend.model}", "model_calls": report.model_calls,
        "judge_calls": report.judge_calls, "wall_s": f"{report.wall_s:.2f}",
    }
    for key, value in lines.items():
        console.print(f"{key}: {value}", highlight=False)
    dims = Table("dimension", "mean", title="rubric (1-5)")
    for d in DIMENSIONS:
        dims.add_row(d, f"{s.dims.get(d, 0):.2f}")
    console.print(dims)
    cases = Table("case", "verdict", *[d[:5] for d in DIMENSIONS], "title / problem", title="per case")
    for o in report.outcomes:
        j = o.judgement
        scores = [str(getattr(j.dims, d)) if j and j.dims else "-" for d in DIMENSIONS]
        verdict = (j.verdict or ("ERROR" if j.error else "-")) if j else "-"
        note = o.invalid_reason or (j.error if j and j.error else (o.candidate.title if o.candidate else ""))
        cases.add_row(o.case_id, verdict, *scores, note[:60])
    console.print(cases)
