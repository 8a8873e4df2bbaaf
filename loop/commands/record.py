"""`autoresearch requests` (manual-training requests: list, answer, decline) and `autoresearch digest`."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError

from loop.config import load_config
from loop.errors import InputError

err = Console(stderr=True)


def _config():
    try:
        return load_config()
    except InputError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2)


def _no_record(exc: OperationalError) -> None:
    err.print(f"[red]error:[/] the record is not ready ({escape(str(exc.orig))}); run `autoresearch init` first")
    raise typer.Exit(2)


def requests_command(
    answer: int | None = typer.Option(None, "--answer", help="Close request ID with --text."),
    text: str | None = typer.Option(None, "--text", help="The answer: what was trained, where the adapter is."),
    decline: bool = typer.Option(False, "--decline", help="Close request ID as declined (with --text as the reason)."),
    show_all: bool = typer.Option(False, "--all", help="List answered and declined requests too."),
    as_json: bool = typer.Option(False, "--json", help="Print the requests as JSON (request → adapter → "
                                                         "experiment → quality)."),
) -> None:
    """List manual-training requests (each answered one with its adapter, experiment and quality), or
    answer one (--answer ID --text ...)."""
    from loop.daemon.requests import answer_request, list_requests

    config = _config()
    try:
        if answer is not None:
            if not text:
                err.print("[red]error:[/] --answer needs --text")
                raise typer.Exit(2)
            try:
                view = answer_request(config, answer, text, status="declined" if decline else "answered")
            except (LookupError, ValueError) as exc:
                err.print(f"[red]error:[/] {escape(str(exc).strip(chr(39)))}")
                raise typer.Exit(1)
            err.print(f"[green]{view.status}[/] request {view.id:04d}; {view.path}")
            return
        rows = list_requests(config, None if show_all else "open")
    except OperationalError as exc:
        _no_record(exc)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    chain = any(r.adapter_sha256 for r in rows)  # the adapter → experiment → quality column, once there is one
    table = Table("id", "status", "recipe", "experiment", "filed", "rationale",
                  *(["adapter → experiment → quality"] if chain else []), "file", title="Training requests")
    for r in rows:
        colour = {"open": "yellow", "answered": "green"}.get(r.status, "dim")
        table.add_row(f"{r.id:04d}", f"[{colour}]{r.status}[/]", r.recipe,
                      f"{r.experiment_number:04d}" if r.experiment_number is not None else "–",
                      r.created_at.strftime("%Y-%m-%d %H:%M"), escape(r.rationale.strip().splitlines()[0][:80]),
                      *([_chain(r)] if chain else []), r.path or "–")
    Console().print(table if rows else "No open training requests." if not show_all else "No training requests.")


def _chain(r) -> str:
    if not r.adapter_sha256:
        return "–"
    quality = f"{r.answer_quality:.4f}" if r.answer_quality is not None else "no score"
    return f"{r.adapter_sha256[:12]} → {r.answer_experiment:04d} ({r.answer_status}) → {quality}"


def digest_command(
    since: str | None = typer.Option(None, "--since", help="ISO date/time to start from (default: 24 hours ago)."),
) -> None:
    """Print the morning digest (markdown) of what the loop did since --since."""
    from loop.daemon.digest import digest

    config = _config()
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            err.print(f"[red]error:[/] --since {escape(since)!s}: not an ISO date/time (e.g. 2026-11-23T22:00)")
            raise typer.Exit(2)
    try:
        text = digest(config, start)
    except OperationalError as exc:
        _no_record(exc)
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.command("requests")(requests_command)
    app.command("digest")(digest_command)
