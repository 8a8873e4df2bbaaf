"""Helpers shared by CLI commands: load config with a clean error, print errors the same way."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from loop.config import Config, load_config
from loop.errors import InputError

err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def config_or_exit(repo: Path | None = None, **overrides) -> Config:
    try:
        return load_config(repo, **overrides)
    except InputError as exc:
        fail(str(exc))


JUDGE_OPTION = typer.Option(None, "--judge", help="proxy | proxy-v1 | local | anthropic (default: auto).")
RUNNER_OPTION = typer.Option(None, "--runner", help="auto | llama | apple | apple-mock | replay | cloud.")
MODEL_OPTION = typer.Option(None, "--model", help="Portable model name (smollm2 | qwen0.5b | qwen1.5b).")


UNCONFINED_OPTION = typer.Option(False, "--unconfined", help="Where no sandbox works (Linux without usable "
                                 "bubblewrap), run pipelines unconfined: no network isolation, ruler/ readable.")


def confinement_or_exit(config: Config) -> str:
    """The confinement pipelines will run under, or a clear refusal (how to fix it, what --unconfined loses)."""
    from loop.sandbox.confine import SandboxUnavailable, resolve_mode

    try:
        return resolve_mode(config.sandbox, allow_unconfined=config.unconfined)
    except SandboxUnavailable as exc:
        fail(str(exc))
