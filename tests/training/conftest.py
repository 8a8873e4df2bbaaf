"""Training-track fixtures: a project copy with a record and one open SFT request."""

from __future__ import annotations

import pytest

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
