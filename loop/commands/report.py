"""`autoresearch report --out FILE.html`: one self-contained page to share (no network, assets inlined):
the climb, the tile wall, the lever, ceiling and re-judge tables, training requests and their adapters,
and the cases of one experiment (default: the incumbent) with gold (`--no-gold` leaves gold out).

Written where `--out` says. Without `--out` the page goes to `autoresearch-report.html` in the
current directory, unless that is inside the repository: a report is never written into the repo
by default (it would carry the ruler's gold into the working tree); pass `--out` to do so on purpose.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer

from loop.commands.common import config_or_exit, err, fail
from loop.config import REPO_ROOT

DEFAULT_NAME = "autoresearch-report.html"


def output_path(out: Path | None, repos: list[Path], cwd: Path) -> Path:
    """Where the report goes; refuses a repository (the one under research, this checkout) unless `out`
    names the place explicitly."""
    if out is not None:
        target = out.expanduser().resolve()
        if not target.parent.is_dir():
            fail(f"--out {out}: the directory {target.parent} does not exist")
        if target.is_dir():
            fail(f"--out {out}: is a directory; name the HTML file to write")
        return target
    cwd = cwd.resolve()
    for repo in (r.resolve() for r in repos):
        if cwd.is_relative_to(repo):
            fail(f"the current directory {cwd} is inside the repository {repo}: a report is not written there by "
                 f"default (it carries the ruler's gold). Pass --out FILE.html to choose where it goes")
    return cwd / DEFAULT_NAME


def _write(target: Path, html: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # an ordinary file, as any other written by the user
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report(
    out: Path = typer.Option(None, "--out", "-o", help="The HTML file to write (default: ./autoresearch-report.html, "
                                                      "refused inside the repository)."),
    no_gold: bool = typer.Option(False, "--no-gold", help="Leave the ruler's gold sets out (for sharing outside "
                                                          "the team)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    ruler: str = typer.Option(None, "--ruler", help="Ruler id or unique prefix (default: the newest, as the "
                                                    "dashboard)."),
    experiment: int = typer.Option(None, "--experiment", min=0, help="Experiment whose cases to drill into "
                                                                     "(default: the incumbent, the newest kept)."),
    db: str = typer.Option(None, "--db", help="SQLAlchemy URL or SQLite file of the record (default: the config's)."),
    repo: Path = typer.Option(None, "--repo", help="Repository whose ruler/ holds the gold sets (default: this one)."),
) -> None:
    """Write the shareable report: one self-contained HTML page, opened by any browser offline."""
    from loop.adapters.store import store_root
    from sqlalchemy.exc import SQLAlchemyError

    from loop.dashboard.source import DatabaseMissing, DatabaseUnavailable, describe, open_source
    from loop.report.page import render
    from loop.report.record import ReportRefused, read_report
    from loop.report.shape import AdapterCatalog

    config = config_or_exit(repo)
    target = output_path(out, [config.repo, REPO_ROOT], Path.cwd())
    url = config.db_url if not db else db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"
    try:
        source = open_source(url)
    except Exception as exc:  # a malformed URL: say so plainly
        fail(f"cannot use the database URL {url!r}: {exc}")
    log = (lambda _m: None) if as_json else (lambda m: err.print(m, highlight=False))
    log(f"reading the record {source.where} …")
    try:
        source.check()
        with source.engine.connect() as conn:
            data = read_report(conn, where=source.where, ruler_dir=config.ruler_dir, ruler=ruler,
                               config=config.model_copy(update={"database_url": url}),
                               experiment=experiment, gold=not no_gold, adapters=AdapterCatalog(store_root(config)))
    except (DatabaseMissing, DatabaseUnavailable, ReportRefused) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"the record {source.where} is not ready ({describe(exc)}); run `autoresearch init` first")
    finally:
        source.dispose()
    log(f"drawing {len(data.points['number'])} experiments and {len(data.tiles)} tiles …")
    html = render(data)
    _write(target, html)
    summary = {"out": str(target), "bytes": len(html.encode("utf-8")), "ruler": data.ruler["id"],
               "experiments": len(data.points["number"]), "tiles": len(data.tiles),
               "drill_experiment": data.drill.number if data.drill else None,
               "cases": len(data.drill.cases) if data.drill else 0, "gold": data.gold_shown,
               "levers": len(data.levers), "ceiling": len(data.ceiling), "rejudges": len(data.rejudges),
               "requests": len(data.requests)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    err.print(f"report written: [bold]{target}[/] ({summary['bytes'] / 1e6:.1f} MB): {summary['experiments']} "
              f"experiments, {summary['cases']} cases of #{summary['drill_experiment']}, gold "
              f"{'shown' if data.gold_shown else 'left out'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
