"""Fixtures for the agent, notification, request and digest tests: a scratch repo with a migrated DB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop.config import Config
from loop.db.session import upgrade

GOLD_QUESTIONS = [
    "Which city will you be departing from for this Paris trip?",
    "How many people are travelling, and are any of them children?",
    "What total budget do you have in mind, excluding flights?",
    "Which dates or month are you planning to travel in?",
    "What kind of neighbourhood would you like to stay in?",
    "Which experiences matter most to you: museums, food or walking?",
    "Do you need step-free access or have any mobility limits?",
]


def write_ruler(root: Path) -> None:
    (root / "ruler").mkdir(parents=True, exist_ok=True)
    case = {"id": "t01", "task": "plan a trip to Paris", "gold": {"title": "Plan a trip to Paris", "questions": GOLD_QUESTIONS}}
    (root / "ruler" / "tasks.jsonl").write_text(json.dumps(case) + "\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The daemon's repo: ruler/, prompts come from the package fallback."""
    root = tmp_path / "repo"
    write_ruler(root)
    return root


@pytest.fixture
def config(repo: Path, tmp_path: Path) -> Config:
    cfg = Config(repo=repo, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", desktop_notifications=False,
                 max_turns=8, max_agent_seconds=60, max_agent_usd=2.0)
    upgrade(cfg)
    return cfg


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """An experiment's worktree: its own ruler copy and a workspace with one prompt file."""
    wt = tmp_path / "worktree"
    write_ruler(wt)
    prompts = wt / "agent_workspace" / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "draft.md").write_text("Write a title and seven clarifying questions for the task.\n")
    (wt / "agent_workspace" / "data").mkdir()
    return wt
