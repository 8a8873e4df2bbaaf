"""Training-track fixtures: a project copy with a record and one open SFT request."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from loop.config import load_config
from loop.db.session import upgrade
from loop.ruler_lock import write_lock


@pytest.fixture
def train_config(project_copy, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_REPLAY_ANSWERS", "AUTORESEARCH_REPLAY_DELAY_MS"):
        monkeypatch.delenv(name, raising=False)
    write_lock(project_copy / "ruler")
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", judge="proxy",
                         runner="replay", model="smollm2")
    upgrade(config)
    return config


@pytest.fixture
def sft_request(train_config) -> int:
    from loop.daemon.requests import create_request

    return create_request(train_config, "sft", "coverage stays low on travel tasks", "r01, r05: coverage 2",
                          send=False)


@pytest.fixture
def cli_env(train_config, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", train_config.database_url)
    monkeypatch.setenv("AUTORESEARCH_RUNNER", "replay")
    monkeypatch.setenv("AUTORESEARCH_MODEL", "smollm2")
    monkeypatch.setenv("AUTORESEARCH_JUDGE", "proxy")
    return train_config


@pytest.fixture
def cli(cli_env):
    """`autoresearch ARGS --repo <project copy>` through the real CLI app (in-process)."""
    from loop.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [*args, "--repo", str(cli_env.repo)])


def greedy(client, messages: list[dict], adapter=None) -> str:
    """A greedy 24-token answer of a training example's system and user messages through a runner."""
    from loop.runners.protocol import Request, Sampling

    system, user = messages[0]["content"], messages[1]["content"]
    response = client.call(Request(id=uuid.uuid4().hex, op="generate", instructions=system, prompt=user,
                                   sampling=Sampling(mode="greedy"), max_output_tokens=24, adapter=adapter))
    assert response.ok, response.error
    return response.text
