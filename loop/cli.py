"""The `autoresearch` command. Each area registers its own commands from `loop/commands/`."""

from __future__ import annotations

import typer

from loop.commands import analyze, daemon, dashboard, evaluation, judge, models, record, report, ruler, runner, supervise, train

app = typer.Typer(
    help="Improve an on-device LLM feature overnight against a frozen ruler, and keep an honest record.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for area in (models, ruler, evaluation, runner, daemon, record, dashboard, report, judge, supervise, train, analyze):
    area.register(app)

if __name__ == "__main__":
    app()
