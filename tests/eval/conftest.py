"""Evaluation fixtures: a project copy, a config on it with the replay runner and the proxy judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop.config import load_config
from loop.db.session import upgrade
from loop.ruler_lock import write_lock

TEXT_PIPELINE = '''
import json


def generate(task, model):
    reply = model.respond(f"Task: {task}", instructions="Answer as JSON.", sampling={"mode": "greedy"})
    return json.loads(reply.text)
'''


@pytest.fixture
def eval_config(project_copy: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("AUTORESEARCH_REPLAY_ANSWERS", raising=False)
    monkeypatch.delenv("AUTORESEARCH_REPLAY_DELAY_MS", raising=False)
    write_lock(project_copy / "ruler")
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}",
                         judge="proxy", runner="replay")
    upgrade(config)
    return config


@pytest.fixture
def text_pipeline(tmp_path: Path) -> Path:
    """A workspace whose pipeline passes the runner's text through unchanged (no schema forcing)."""
    workspace = tmp_path / "text_workspace"
    workspace.mkdir()
    (workspace / "pipeline.py").write_text(TEXT_PIPELINE)
    (workspace / "pipeline.toml").write_text("[pipeline]\nname = 'text passthrough'\n")
    return workspace


def write_answers(path: Path, answers: dict[str, dict]) -> Path:
    path.write_text(json.dumps(answers))
    return path
