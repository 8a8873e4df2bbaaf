"""`autoresearch analyze ceiling | rejudge | levers`: the seeds' analyses, kept out of the on-device record
(loop/analysis/)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy.exc import OperationalError

from loop.commands.common import JUDGE_OPTION, UNCONFINED_OPTION, config_or_exit, confinement_or_exit, fail
from loop.commands.ruler import REPO, validate_ruler
from loop.errors import InfrastructureError, InputError, JudgeUnavailable

app = typer.Typer(help="Analyses kept out of the on-device record: cloud ceiling, re-judge in modes, lever table.",
                  no_args_is_help=True)
JSON_OPTION = typer.Option(False, "--json", help="Print the table as JSON.")


def _checked_ruler(config) -> None:
    from loop.ruler_lock import verify_lock

    validate_ruler(config.ruler_dir)
    problems = verify_lock(config.ruler_dir)
    if problems:
        fail("the ruler differs from RULER.lock: " + "; ".join(problems))


def _echo_json(model) -> None:
    typer.echo(json.dumps(model.model_dump(mode="json"), indent=2))


@app.command("ceiling")
def ceiling_command(
    models: str = typer.Option(..., "--models", help="Cloud models as the candidate, e.g. claude-haiku-4-5,claude-sonnet-4-6."),
    gate: str = typer.Option("full", "--gate", "-g", help="full (all 30) or dev (10 fixed cases)."),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="Pipeline directory (default agent_workspace/)."),
    judge: str = JUDGE_OPTION,
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore cached generations and verdicts."),
    unconfined: bool = UNCONFINED_OPTION,
    as_json: bool = JSON_OPTION,
    repo: Path = REPO,
) -> None:
    """Each cloud model as the candidate through the identical harness (stored as reference evaluations,
    never on the on-device leaderboard), beside the on-device best: quality, coverage, W/T/L vs gold."""
    from loop.analysis import AnalysisRefused
    from loop.analysis.ceiling import parse_models, run_ceiling
    from loop.analysis.render import render_ceiling
    from loop.db.session import upgrade

    if gate not in ("full", "dev"):
        fail(f"--gate {gate!r}: the ceiling runs on the full or the dev gate")
    config = config_or_exit(repo, judge=judge, unconfined=unconfined or None)
    try:
        names = parse_models(models)
        confinement_or_exit(config)
        _checked_ruler(config)
        upgrade(config)
        table = run_ceiling(config, names, gate, workspace=workspace, progress=not as_json, use_cache=not no_cache)
    except (AnalysisRefused, InputError) as exc:
        fail(str(exc))
    except (JudgeUnavailable, InfrastructureError) as exc:
        fail(f"{exc}; that model's run was not recorded")
    if as_json:
        _echo_json(table)
    else:
        render_ceiling(table)


@app.command("rejudge")
def rejudge_command(
    mode: str = typer.Option("coverage-blind", "--mode", help="The judge mode to re-judge in (coverage-blind)."),
    experiments: str = typer.Option(..., "--experiments", help="Experiment numbers, e.g. 0,12,31 or 3-7."),
    judge: str = JUDGE_OPTION,
    as_json: bool = JSON_OPTION,
    repo: Path = REPO,
) -> None:
    """Re-judge stored candidates (no regeneration) in a judge mode beside a five-dimension control that
    must reproduce the logged quality; recorded under each mode's own ruler id, never the official record."""
    from loop.analysis import AnalysisRefused
    from loop.analysis.rejudge_modes import run_rejudge
    from loop.analysis.render import render_rejudge
    from loop.judges.agreement import parse_numbers

    config = config_or_exit(repo, judge=judge)
    try:
        numbers = parse_numbers(experiments)
        _checked_ruler(config)
        table = run_rejudge(config, mode, numbers, progress=not as_json)
    except (AnalysisRefused, InputError) as exc:
        fail(str(exc))
    except JudgeUnavailable as exc:
        fail(f"{exc}; experiments not yet re-judged were left as they are")
    except OperationalError as exc:
        fail(f"the record is not ready ({exc.orig}); run `autoresearch init` first")
    if as_json:
        _echo_json(table)
    else:
        render_rejudge(table)


@app.command("levers")
def levers_command(
    ruler: str = typer.Option(None, "--ruler", help="A ruler id or unique prefix (default: the dashboard's, the newest)."),
    as_json: bool = JSON_OPTION,
    repo: Path = REPO,
) -> None:
    """Per lever class: runs, best quality, its coverage and gate; then the rubric scored as candidate
    (on-device best vs each cloud anchor, per dimension). Read from the record only."""
    from loop.analysis import AnalysisRefused
    from loop.analysis.levers import lever_report
    from loop.analysis.render import render_levers

    config = config_or_exit(repo)
    try:
        report = lever_report(config, ruler)
    except AnalysisRefused as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"the record is not ready ({exc.orig}); run `autoresearch init` first")
    if as_json:
        _echo_json(report)
    else:
        render_levers(report)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="analyze")
