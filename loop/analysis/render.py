"""The analyses' tables as a person reads them (rich), shaped like the seeds' tables."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loop.schemas import DIMENSIONS


PIPE_WIDTH = 140  # columns when stdout is not a terminal (rich would squeeze the tables into 80)


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def _num(value: float | None, places: int = 3, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.{places}f}" if signed else f"{value:.{places}f}"


def _ruler_line(console: Console, ruler_id: str, judge_id: str, extra: str = "") -> None:
    console.print(f"ruler {ruler_id[:12]} · judge {escape(judge_id)}{extra}", highlight=False)


def render_ceiling(table, console: Console | None = None) -> None:
    console = console or _console()
    _ruler_line(console, table.ruler_id, table.judge_id, f" · {table.gate} gate")
    out = Table("candidate", "where", "quality", "coverage", "vs gold (W/T/L)", "evaluation",
                title="Cloud ceiling: the same harness, only the model changes")
    for row in table.rows:
        out.add_row(escape(row.label), row.where, _num(row.quality), _num(row.coverage, 2),
                    f"{row.wins}/{row.ties}/{row.losses}", f"#{row.evaluation_id}")
    console.print(out)
    if not any(r.where == "on-device" for r in table.rows):
        console.print(f"(no kept on-device experiment on the {table.gate} gate under this ruler yet)")
    console.print("cloud rows are reference evaluations: never on the on-device leaderboard", style="dim")


def render_rejudge(table, console: Console | None = None) -> None:
    console = console or _console()
    _ruler_line(console, table.ruler_id, table.judge_id, " (five dimensions, as logged)")
    _ruler_line(console, table.mode_ruler_id, table.mode_judge_id, f" ({table.mode}, its own ruler id)")
    out = Table("candidate", "gate", "logged", "quality, 5-dim", f"quality, {table.mode}", "Δ",
                "loses to gold", "control", title=f"Re-judge: five dimensions vs {table.mode}, same stored answers")
    for row in table.rows:
        check = row.control
        mark = "exact" if check.exact else ("within floor" if check.reproduced else "[red]NOT reproduced[/]")
        out.add_row(f"{row.experiment:04d} {escape(row.headline[:28])}", row.gate, _num(check.logged_quality),
                    _num(row.quality_standard), _num(row.quality_mode), _num(row.delta, 3, signed=True),
                    f"{row.losses_before} → {row.losses_after} (of {row.cases})", mark)
    console.print(out)
    console.print(table.control_sentence(), highlight=False)
    console.print("re-judge rounds are recorded as kind `rejudge` (no experiment): never the official record",
                  style="dim")


def render_levers(report, console: Console | None = None) -> None:
    console = console or _console()
    _ruler_line(console, report.ruler_id, report.judge_id)
    out = Table("lever class", "runs", "kept", "invalid", "best quality", "coverage", "gate", "best run",
                title="Lever classes")
    for row in report.levers:
        out.add_row(row.label, str(row.runs), str(row.kept), str(row.invalid), _num(row.best_quality),
                    _num(row.coverage, 2), row.gate or "—",
                    f"{row.best_experiment:04d}" if row.best_experiment is not None else "—")
    console.print(out)
    if not report.rubric:
        console.print("(no kept experiment on the full gate yet: no rubric table)")
        return
    rubric = Table("scored as candidate", *DIMENSIONS, "quality", title="Rubric, scored as candidate (full gate)")
    for row in report.rubric:
        rubric.add_row(escape(row.label), *(_num(row.dims.get(d), 2) for d in DIMENSIONS), _num(row.quality))
    console.print(rubric)
    if not any(r.where == "cloud" for r in report.rubric):
        console.print("(no cloud anchor under this ruler: `autoresearch analyze ceiling --models ...` adds one)")
