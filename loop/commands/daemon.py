"""`autoresearch run | status | log | show N`: the loop and its story."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from loop.commands.common import (JUDGE_OPTION, MODEL_OPTION, RUNNER_OPTION, UNCONFINED_OPTION, config_or_exit,
                                  confinement_or_exit, err, fail)
from loop.commands.ruler import REPO
from loop.errors import InputError

out = Console(soft_wrap=True)


def run_command(
    once: bool = typer.Option(False, "--once", help="Run one experiment (after the baseline if there is none), then stop."),
    agent: str = typer.Option(None, "--agent", help="claude | sweep (default: claude with credentials, else sweep)."),
    max_experiments: int = typer.Option(None, "--max-experiments", min=1, help="Stop after N experiments."),
    until: str = typer.Option(None, "--until", help="Stop at HH:MM (local time)."),
    window: str = typer.Option(None, "--window", help='Run only inside "HH:MM-HH:MM", e.g. "22:00-07:00".'),
    model: str = MODEL_OPTION,
    runner: str = RUNNER_OPTION,
    judge: str = JUDGE_OPTION,
    no_live: bool = typer.Option(False, "--no-live", help="No live status line (the log file is always written)."),
    worker: str = typer.Option(None, "--worker", help="This daemon's worker name, one live daemon per name "
                               "(default: <host>-<pid>); several workers can share one record (DATABASE_URL)."),
    unconfined: bool = UNCONFINED_OPTION,
    repo: Path = REPO,
) -> None:
    """Start the research loop: one experiment at a time until a stop condition.

    While the judge is unreachable the loop waits (backoff up to `judge_wait_max_s`) and resumes the
    same experiment. With --once it does not wait: exit code 5 when the judge stayed unreachable after
    its retries (nothing scored; the experiment resumes on the next start), 6 when the experiment
    crashed (e.g. an infrastructure error: runner, model file, sandbox); 4 on ruler tampering; 3 when a
    daemon already runs under this worker name; 7 when the record's database is unreachable."""
    from sqlalchemy.exc import OperationalError

    from loop.daemon.lock import DaemonAlreadyRunning
    from loop.daemon.logfile import log_path
    from loop.daemon.workers import WorkerNameTaken
    from loop.daemon.runloop import Daemon, RunOptions
    from loop.daemon.scheduler import Window, until_moment
    from loop.ruler_lock import verify_lock

    config = config_or_exit(repo, agent=agent, model=model, runner=runner, judge=judge, window=window,
                            unconfined=unconfined or None, worker=worker)
    confinement_or_exit(config)
    try:
        if config.window:
            Window.parse(config.window)
        if until:
            until_moment(until)
    except ValueError as exc:
        fail(str(exc))
    problems = verify_lock(config.ruler_dir)
    if problems:
        fail("the ruler differs from RULER.lock: " + "; ".join(problems) + " — refusing to start")
    err.print(f"autoresearch: agent {config.resolved_agent}, judge {config.resolved_judge}, runner {config.runner}; "
              f"log {log_path(config.repo)}", highlight=False)
    try:
        summary = Daemon(config, RunOptions(once=once, max_experiments=max_experiments, until=until,
                                            live=not no_live)).run()
    except (DaemonAlreadyRunning, WorkerNameTaken) as exc:
        fail(str(exc), code=3)
    except OperationalError as exc:
        fail(f"the record's database is unreachable ({config.db_url.split('@')[-1]}): {exc.orig}", code=7)
    except InputError as exc:
        fail(str(exc))
    for line in summary.recovered:
        err.print(f"recovered: {escape(line)}")
    for result in summary.results:
        quality = f"{result.quality:.4f}" if result.quality is not None else "—"
        delta = f"{result.delta:+.4f}" if result.delta is not None else "—"
        out.print(f"experiment {result.number:04d}: {result.status:9} quality {quality} delta {delta} — "
                  f"{escape(result.reason)}", highlight=False)
    err.print(f"stopped: {escape(summary.halt_reason or 'done')}", highlight=False)
    from loop.daemon.stopping import StopKind

    codes = {StopKind.TAMPER: 4, StopKind.JUDGE_UNREACHABLE: 5, StopKind.AGENT_API_UNREACHABLE: 5,
             StopKind.CRASHED: 6}
    if summary.stop is not None and summary.stop.kind in codes:
        raise typer.Exit(codes[summary.stop.kind])


def status_command(as_json: bool = typer.Option(False, "--json", help="The status as JSON (loop.daemon.status_report)."),
                   repo: Path = REPO) -> None:
    """Each worker (name, current experiment and step, last heartbeat), the running experiments, the best
    so far, counts by status."""
    from loop.daemon.status_report import render_status, status_report

    config = config_or_exit(repo)
    try:
        report = status_report(config)
    except Exception as exc:
        fail(f"the record is not readable ({exc}); run `autoresearch init` first")
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    render_status(report, out)


def log_command(
    show_all: bool = typer.Option(False, "--all", help="Include experiments not kept (refs/experiments/*)."),
    repo: Path = REPO,
) -> None:
    """The research story from git: one line per experiment (number, status, quality, delta, headline)."""
    from loop.daemon.gitrecord import GitRecord, parse_trailers

    config = config_or_exit(repo)
    git = GitRecord(config.repo, config.research_branch)
    if git.rev(f"refs/heads/{config.research_branch}") is None:
        fail(f"no research branch {config.research_branch!r} yet: run `autoresearch run` first")
    for sha, message in git.story(include_experiments=show_all):
        t = parse_trailers(message)
        subject = message.splitlines()[0].split(": ", 1)[-1]
        out.print(f"{t.get('Experiment', '????')} {t.get('Status', '?'):9} q {t.get('Quality', '—'):>7} "
                  f"Δ {t.get('Delta', '—'):>8}  {sha[:8]}  {escape(subject)}", highlight=False)


def show_command(number: int = typer.Argument(..., help="Experiment number."),
                 as_json: bool = typer.Option(False, "--json", help="The record as JSON (holdout, Goodhart gap, rounds)."),
                 repo: Path = REPO) -> None:
    """One experiment: hypothesis, method, result, per-case table, diff."""
    from loop.daemon.show import experiment_json, render_experiment

    config = config_or_exit(repo)
    if as_json:
        import json

        record = experiment_json(config, number)
        if record is None:
            fail(f"no experiment {number} in the record")
        print(json.dumps(record, indent=2, default=str))
        return
    if not render_experiment(config, number, out):
        fail(f"no experiment {number} in the record")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("status")(status_command)
    app.command("log")(log_command)
    app.command("show")(show_command)
