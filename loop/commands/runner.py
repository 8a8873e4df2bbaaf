"""`autoresearch runner ...`: start a runner and ask it what it is."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

runner_app = typer.Typer(help="The on-device model runners (pipeline-gen/1).", no_args_is_help=True)
err = Console(stderr=True)


@runner_app.command("probe")
def probe(
    runner: Optional[str] = typer.Option(None, "--runner", "-r", help="auto | llama | apple | apple-mock | replay | cloud"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="portable model name (llama) or Claude id (cloud)"),
    as_json: bool = typer.Option(False, "--json", help="print the backend as one JSON object"),
) -> None:
    """Start the runner, probe it, and print backend, model, model version, OS build and availability."""
    from loop.config import load_config
    from loop.errors import InputError
    from loop.models import ModelFileError
    from loop.runners.client import RunnerError
    from loop.runners.factory import open_runner

    if runner is not None and runner not in ("auto", "llama", "apple", "apple-mock", "replay", "cloud"):
        err.print(f"[red]error:[/] --runner must be auto, llama, apple, apple-mock, replay or cloud, not {runner!r}")
        raise typer.Exit(2)
    try:
        config = load_config(runner=runner, model=model)
        with open_runner(config) as client:
            backend = client.probe()
            reference = client.reference
    except (InputError, ModelFileError, RunnerError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1)
    data = backend.model_dump(mode="json")
    data["reference_only"] = reference
    if as_json:
        print(json.dumps(data))
    else:
        table = Table("field", "value", title="runner probe")
        for key in ("name", "model", "model_version", "os_build", "adapter_signature", "available", "reason",
                    "reference_only"):
            value = data.get(key)
            shown = "[green]yes[/]" if value is True else "[red]no[/]" if value is False else ("-" if value is None else str(value))
            table.add_row(key.replace("name", "backend") if key == "name" else key, shown)
        Console().print(table)
    if backend.available is False:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.add_typer(runner_app, name="runner")
