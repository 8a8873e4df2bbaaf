"""Which runner process to start for a Config, and a client on it.

- `replay`: loop.runners.replay_server; answers file and delay from $AUTORESEARCH_REPLAY_ANSWERS and
  $AUTORESEARCH_REPLAY_DELAY_MS when set.
- `llama`: loop.runners.llama_server on `loop.models.model_path(config.model)` with its pinned sha256.
- `apple`: the Swift binary (`config.fm_runner_path`, else native/.build/release/fm-runner) `serve`.
- `apple-mock`: the same binary `serve --backend mock`, started and spoken to exactly as `apple` is (the
  Apple code path: the Swift request handling, the apple/mock schema dialect, the same client settings),
  for tests, benchmarks and anyone without a Mac.
- `cloud`: loop.runners.cloud_server on `config.model` when it names a Claude model, else
  $AUTORESEARCH_CLOUD_MODEL, else DEFAULT_CLOUD_MODEL. Its client is marked `reference=True`.
- `auto`: apple on macOS when the fm-runner binary exists and its probe says available, else llama.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from loop import models
from loop.config import Config
from loop.runners.client import STARTUP_TIMEOUT_S, RunnerClient, RunnerError, environment
from loop.runners.protocol import Backend

DEFAULT_CLOUD_MODEL = "claude-sonnet-4-6"
APPLE_STARTUP_TIMEOUT_S = 60.0  # fm-runner loads no weights itself: a probe answers in well under a second
REFERENCE_BACKENDS = frozenset({"cloud"})
APPLE_RUNNERS = {"apple": [], "apple-mock": ["--backend", "mock"]}  # fm-runner serve arguments


def is_reference(backend: Backend | None) -> bool:
    """Results from this backend are reference only (never the on-device record)."""
    return backend is not None and backend.name in REFERENCE_BACKENDS


def fm_runner_path(config: Config) -> Path:
    return Path(config.fm_runner_path) if config.fm_runner_path else config.repo / "native" / ".build" / "release" / "fm-runner"


def cloud_model(config: Config) -> str:
    if config.model.startswith("claude"):
        return config.model
    return os.environ.get("AUTORESEARCH_CLOUD_MODEL") or DEFAULT_CLOUD_MODEL


def runner_argv(config: Config, runner: str | None = None) -> list[str]:
    """The `serve` command line of a concrete runner ("auto" resolves to llama here: see open_runner)."""
    kind = runner or config.runner
    if kind in ("auto", "llama"):
        path = models.model_path(config.model)  # raises ModelFileError with the fetch command when missing
        sha = models.REGISTRY[config.model].files[0].sha256
        argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(path), "--sha256", sha]
        threads = os.environ.get("AUTORESEARCH_LLAMA_THREADS")
        return argv + (["--threads", threads] if threads else [])
    if kind == "replay":
        argv = [sys.executable, "-m", "loop.runners.replay_server", "serve"]
        if os.environ.get("AUTORESEARCH_REPLAY_ANSWERS"):
            argv += ["--answers", os.environ["AUTORESEARCH_REPLAY_ANSWERS"]]
        if os.environ.get("AUTORESEARCH_REPLAY_DELAY_MS"):
            argv += ["--delay-ms", os.environ["AUTORESEARCH_REPLAY_DELAY_MS"]]
        return argv
    if kind in APPLE_RUNNERS:
        return [str(fm_runner_path(config)), "serve", *APPLE_RUNNERS[kind]]
    if kind == "cloud":
        return [sys.executable, "-m", "loop.runners.cloud_server", "serve", "--model", cloud_model(config)]
    raise ValueError(f"unknown runner {kind!r}; expected auto, llama, apple, apple-mock, cloud or replay")


def runner_env(config: Config) -> dict[str, str]:
    extra = {"ANTHROPIC_BASE_URL": config.anthropic_base_url} if config.anthropic_base_url else {}
    return environment(extra)


def open_runner(config: Config) -> RunnerClient:
    """A started client on the configured runner (the caller closes it)."""
    if config.runner == "auto":
        client = _try_apple(config)
        if client is not None:
            return client
        kind = "llama"
    else:
        kind = config.runner
    client = RunnerClient(runner_argv(config, kind), env=runner_env(config), timeout_s=config.runner_timeout_s,
                          name=kind, startup_timeout_s=APPLE_STARTUP_TIMEOUT_S if kind in APPLE_RUNNERS else STARTUP_TIMEOUT_S)
    try:
        client.start()
    except RunnerError:
        client.close()
        raise
    client.reference = is_reference(client.backend) or kind == "cloud"
    return client


def _try_apple(config: Config) -> RunnerClient | None:
    """The fm-runner client when on macOS, built, and its probe says available; else None."""
    binary = fm_runner_path(config)
    if sys.platform != "darwin" or not binary.is_file() or not os.access(binary, os.X_OK):
        return None
    client = RunnerClient(runner_argv(config, "apple"), env=runner_env(config), timeout_s=config.runner_timeout_s,
                          name="apple", startup_timeout_s=APPLE_STARTUP_TIMEOUT_S)
    try:
        if client.probe().available:
            return client
    except RunnerError:
        pass
    client.close()
    return None
