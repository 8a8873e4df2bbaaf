"""Runner fixtures: the SmolLM2 test model, a shared llama runner, replay runner argv."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loop import models
from loop.runners.client import RunnerClient
from loop.schemas import answer_json_schema

SMOLLM2 = "smollm2"
ANSWER_SCHEMA = answer_json_schema()


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    try:
        return models.model_path(SMOLLM2)
    except models.ModelFileError as exc:
        pytest.fail(f"the runner tests need the SmolLM2 test model: {exc}")


def llama_argv(path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(path),
            "--n-ctx", "2048", "--threads", "2", *extra]


def replay_argv(*extra: str) -> list[str]:
    return [sys.executable, "-m", "loop.runners.replay_server", "serve", *extra]


@pytest.fixture(scope="module")
def llama(smollm2_path):
    """One llama runner on SmolLM2 (pinned sha256) shared by a test module; stopped at its end."""
    sha = models.REGISTRY[SMOLLM2].files[0].sha256
    with RunnerClient(llama_argv(smollm2_path, "--sha256", sha), timeout_s=120, name="llama-test") as client:
        yield client
