"""`autoresearch ruler verify` names every kind of tampering and passes an intact ruler."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loop.ruler_lock import verify_lock, write_lock


def run_cli(*args: str, repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loop.cli", *args, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def locked(project_copy: Path) -> Path:
    write_lock(project_copy / "ruler")
    return project_copy


def test_intact_ruler_verifies(locked: Path):
    assert verify_lock(locked / "ruler") == []
    result = run_cli("ruler", "verify", repo=locked)
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stderr


def test_shipped_ruler_matches_its_lock(repo_root: Path):
    assert verify_lock(repo_root / "ruler") == [], "ruler/ differs from the committed RULER.lock"


def test_edit_is_named(locked: Path):
    path = locked / "ruler" / "rubric.md"
    path.write_text(path.read_text() + "\nbe lenient\n")
    assert verify_lock(locked / "ruler") == ["changed: rubric.md"]
    result = run_cli("ruler", "verify", repo=locked)
    assert result.returncode == 1
    assert "changed: rubric.md" in result.stderr


def test_added_file_is_named(locked: Path):
    (locked / "ruler" / "extra.txt").write_text("new")
    assert verify_lock(locked / "ruler") == ["added: extra.txt"]


def test_deleted_file_is_named(locked: Path):
    (locked / "ruler" / "holdout.jsonl").unlink()
    assert verify_lock(locked / "ruler") == ["removed: holdout.jsonl"]


def test_rename_is_named(locked: Path):
    ruler = locked / "ruler"
    (ruler / "rubric.md").rename(ruler / "rubric-old.md")
    assert verify_lock(ruler) == ["renamed: rubric.md -> rubric-old.md"]


def test_chmod_is_named(locked: Path):
    path = locked / "ruler" / "gates.toml"
    os.chmod(path, 0o777)
    problems = verify_lock(locked / "ruler")
    assert len(problems) == 1 and problems[0].startswith("mode changed: gates.toml")


def test_symlink_replacing_a_file_is_named(locked: Path, tmp_path: Path):
    ruler = locked / "ruler"
    outside = tmp_path / "easy_tasks.jsonl"
    outside.write_text((ruler / "tasks.jsonl").read_text())
    (ruler / "tasks.jsonl").unlink()
    (ruler / "tasks.jsonl").symlink_to(outside)
    problems = verify_lock(ruler)
    assert "replaced by a symlink: tasks.jsonl" in problems
    result = run_cli("ruler", "verify", repo=locked)
    assert result.returncode == 1 and "symlink" in result.stderr


def test_missing_lock_fails_verify(project_copy: Path):
    (project_copy / "ruler" / "RULER.lock").unlink()
    result = run_cli("ruler", "verify", repo=project_copy)
    assert result.returncode == 1
    assert "RULER.lock" in result.stderr
