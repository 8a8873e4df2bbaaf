"""Fixtures shared by every suite: the repo root, model files, a scratch copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the parts of the project an evaluation reads (ruler/, agent_workspace/)."""
    dest = tmp_path / "project"
    dest.mkdir()
    for part in ("ruler", "agent_workspace"):
        shutil.copytree(REPO / part, dest / part, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    return dest
