"""`autoresearch init` and `autoresearch eval`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loop.commands.common import (JUDGE_OPTION, MODEL_OPTION, RUNNER_OPTION, UNCONFINED_OPTION, config_or_exit,
                                  confinement_or_exit, err, fail)
from loop.commands.ruler import REPO, validate_ruler
from loop.errors import InputError
from loop.eval_render import render_report
from loop.ruler_lock import read_lock, verify_lock, write_lock


def init(repo: Path = REPO) -> None:
    """Create (or upgrade) the database and lock the ruler if it has no lock yet."""
    from loop.db.session import upgrade

    config = config_or_exit(repo)
    try:
        validate_ruler(config.ruler_dir)
    except InputError as exc:
        fail(str(exc))
    try:
        read_lock(config.ruler_dir)
    except FileNotFoundError:
        write_lock(config.ruler_dir)
        err.print(f"[green]locked[/] {config.ruler_dir / 'RULER.lock'}")
    problems = verify_lock(config.ruler_dir)
    if problems:
        fail("the ruler differs from RULER.lock: " + "; ".join(problems)
             + " (a new ruler is a new version: run `autoresearch ruler lock` deliberately)")
    upgrade(config)
    err.print(f"[green]database ready[/] {config.db_url}")


def eval_command(
    gate: str = typer.Option("dev", "--gate", "-g", help="dev (10 fixed cases), full (all 30) or holdout."),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="Pipeline directory (default agent_workspace/)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
    judge: str = JUDGE_OPTION,
    runner: str = RUNNER_OPTION,
    model: str = MODEL_OPTION,
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore cached generations and verdicts."),
    unconfined: bool = UNCONFINED_OPTION,
    repo: Path = REPO,
) -> None:
    """Run the pipeline on every task of a gate, judge each answer, print quality, W/T/L and dims."""
    from loop.db.session import upgrade
    from loop.evaluate import evaluate

    config = config_or_exit(repo, judge=judge, runner=runner, model=model, unconfined=unconfined or None)
    confinement_or_exit(config)
    try:
        validate_ruler(config.ruler_dir)
        problems = verify_lock(config.ruler_dir)
        if problems:
            fail("the ruler differs from RULER.lock: " + "; ".join(problems))
        upgrade(config)
        # a person's evaluation is never the official record: kind `manual` (`holdout` on the sealed holdout)
        report = evaluate(config, gate, workspace=workspace, progress=not as_json, use_cache=not no_cache,
                          kind=manual_kind(gate))
    except InputError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        render_report(report)


def manual_kind(gate: str) -> str:
    """The evaluation kind of a manual `autoresearch eval`: `holdout` on the holdout, else `manual`."""
    return "holdout" if gate == "holdout" else "manual"


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("eval")(eval_command)
