"""Bad ruler or config files give one clear error naming file and line, and leave the record untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loop.ruler_lock import write_lock


def cli(*args: str, repo: Path, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "AUTORESEARCH_JUDGE": "proxy",
           "AUTORESEARCH_RUNNER": "replay"}
    env.pop("ANTHROPIC_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "loop.cli", *args, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=120, env=env)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture
def initialised(project_copy: Path, tmp_path: Path) -> tuple[Path, Path]:
    write_lock(project_copy / "ruler")
    db = tmp_path / "record.sqlite"
    result = cli("init", repo=project_copy, db=db)
    assert result.returncode == 0, result.stderr
    return project_copy, db


def data_lines(path: Path) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1)
            if line.strip() and not line.startswith("#")]


def test_malformed_task_line_names_file_and_line(initialised):
    repo, db = initialised
    tasks = repo / "ruler" / "tasks.jsonl"
    lines = tasks.read_text().splitlines()
    number, _ = data_lines(tasks)[4]
    lines[number - 1] = lines[number - 1][:40]  # cut the JSON in half
    tasks.write_text("\n".join(lines) + "\n")
    before = digest(db)
    result = cli("eval", "--gate", "full", repo=repo, db=db)
    assert result.returncode == 2
    assert f"tasks.jsonl:{number}: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(db) == before


def test_six_gold_questions_named(initialised):
    repo, db = initialised
    tasks = repo / "ruler" / "tasks.jsonl"
    lines = tasks.read_text().splitlines()
    number, line = data_lines(tasks)[2]
    case = json.loads(line)
    case["gold"]["questions"] = case["gold"]["questions"][:6]
    lines[number - 1] = json.dumps(case)
    tasks.write_text("\n".join(lines) + "\n")
    before = digest(db)
    result = cli("eval", "--gate", "dev", repo=repo, db=db)
    assert result.returncode == 2
    assert f"tasks.jsonl:{number}: case {case['id']}: gold answer has 6 questions, expected 7" in result.stderr
    assert digest(db) == before


@pytest.mark.parametrize("text, line, words", [
    ('judge = "proxy"\nplateau = = 3\nmodel = "smollm2"\n', 2, "not valid TOML"),
    ('judge = "proxy"\n\njudge_concurrency = "many"\n', 3, "judge_concurrency"),
    ('jduge = "proxy"\n', 1, "jduge"),
])
def test_broken_config_named(initialised, text: str, line: int, words: str):
    repo, db = initialised
    (repo / "autoresearch.toml").write_text(text)
    before = digest(db)
    result = cli("eval", "--gate", "dev", repo=repo, db=db)
    assert result.returncode == 2
    assert f"autoresearch.toml:{line}:" in result.stderr and words in result.stderr
    assert digest(db) == before
