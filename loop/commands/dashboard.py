"""`autoresearch dashboard`: serve the morning dashboard on 127.0.0.1 (loopback unless told otherwise)."""

from __future__ import annotations

from pathlib import Path

import typer

from loop.commands.common import config_or_exit, err, fail


def dashboard(
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Required to bind a non-loopback address: the record, including the "
                                           "ruler's gold sets, becomes readable by anyone who can reach it."),
    db: str = typer.Option(None, "--db", help="SQLAlchemy URL or SQLite file of the record (default: the config's)."),
    repo: Path = typer.Option(None, "--repo", help="Repository whose ruler/ holds the gold sets (default: this one)."),
    drafts: Path = typer.Option(None, "--drafts", help="Training-pool drafts (JSONL, one {id, answer} a line) to "
                                                       "label at /label?mode=pool against the pool's gold."),
) -> None:
    """Serve the dashboard: every experiment as a point, every judgement one click away. Ctrl-C stops it."""
    from loop.adapters.store import store_root
    from loop.dashboard.app import create_app
    from loop.dashboard.server import allowed_hosts, is_loopback, serve

    config = config_or_exit(repo)
    url = config.db_url if not db else db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"
    if not is_loopback(host):
        if not allow_remote:
            fail(f"{host} is not a loopback address; pass --allow-remote to expose the dashboard beyond this machine")
        err.print(f"[bold yellow]warning:[/] serving on {host}: anyone who can reach this address can read the "
                  "record and the ruler's gold sets. There is no authentication.")
    if drafts is not None and not Path(drafts).is_file():
        fail(f"{drafts}: file not found")
    try:
        app = create_app(url, config.ruler_dir, allowed_hosts=allowed_hosts(host), supervisor=config.supervisor,
                         adapter_store=store_root(config), workspace=Path(config.workspace_dir), drafts=drafts)
    except Exception as exc:  # a malformed URL: say so plainly
        fail(f"cannot use the database URL {url!r}: {exc}")
    shown = f"[{host}]" if ":" in host else host
    err.print(f"dashboard on [bold]http://{shown}:{port}/[/] (record: {url}) — Ctrl-C to stop")
    serve(app, host, port)


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
