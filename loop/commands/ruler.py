"""`autoresearch ruler lock|verify|id`: freeze the measuring stick and prove it unchanged."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from loop.commands.common import config_or_exit, err, fail
from loop.errors import InputError
from loop.ruler_files import gate_cases, load_cases
from loop.ruler_lock import verify_lock, write_lock

ruler_app = typer.Typer(help="The frozen ruler: lock it, verify it, show its id.", no_args_is_help=True)
REPO = typer.Option(None, "--repo", help="Repository root (default: this checkout or $AUTORESEARCH_REPO).")


def validate_ruler(ruler_dir: Path) -> None:
    """Load every case file and gate; raises InputError naming file and line."""
    gate_cases(ruler_dir, "full")
    gate_cases(ruler_dir, "dev")
    load_cases(ruler_dir / "holdout.jsonl")


@ruler_app.command("lock")
def lock(repo: Path = REPO) -> None:
    """Validate the ruler files and record every file's hash and mode in ruler/RULER.lock."""
    config = config_or_exit(repo)
    try:
        validate_ruler(config.ruler_dir)
    except InputError as exc:
        fail(str(exc))
    path = write_lock(config.ruler_dir)
    err.print(f"[green]locked[/] {path}")


@ruler_app.command("verify")
def verify(repo: Path = REPO) -> None:
    """Exit 0 when every ruler file matches RULER.lock; otherwise name each difference and exit 1."""
    config = config_or_exit(repo)
    problems = verify_lock(config.ruler_dir)
    if problems:
        for problem in problems:
            err.print(f"[red]ruler tampered[/] {problem}", highlight=False)
        raise typer.Exit(1)
    err.print("[green]ruler intact[/]")


@ruler_app.command("id")
def show_id(repo: Path = REPO) -> None:
    """Print the ruler id under the configured judge (sha256 of ruler files + judge model + mode)."""
    from loop.judges import make_judge
    from loop.ruler_files import ruler_id

    config = config_or_exit(repo)
    judge = make_judge(config)
    Console().print(f"ruler_id: {ruler_id(config.ruler_dir, judge.judge_id)}\njudge: {judge.judge_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(ruler_app, name="ruler")
