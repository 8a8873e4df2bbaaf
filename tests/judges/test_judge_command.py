"""`autoresearch judge case`: the JSON a person or a test probes a judge with, and bad input refused
with one clear error each, nothing recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loop.ruler_files import gate_cases

KEYS = {"case", "judge_id", "dims", "verdict", "verdict_candidate_first", "verdict_gold_first", "reasoning",
        "failure_notes", "quality_contribution"}


def cli(*args: str, repo: Path, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_JUDGE", "ANTHROPIC_BASE_URL"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "loop.cli", "judge", *args, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def files(project_copy: Path, tmp_path: Path):
    return project_copy, tmp_path / "record.sqlite", tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_case_json_has_exactly_the_listed_keys_and_the_frozen_contribution(files):
    repo, db, tmp = files
    gold = gate_cases(repo / "ruler", "full")[0]
    candidate = write(tmp / "c.json", json.dumps(gold.gold.model_dump()))
    result = cli("case", "--case", gold.id, "--candidate", str(candidate), "--judge", "proxy", "--json",
                 repo=repo, db=db)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == KEYS
    assert out["judge_id"].startswith("proxy:minilm-l6-int8/2+")
    assert out["verdict"] == out["verdict_candidate_first"] == out["verdict_gold_first"] == "tie"
    rubric = (sum(out["dims"].values()) / 5 - 1) / 4
    assert out["quality_contribution"] == pytest.approx(0.5 * 0.5 + 0.5 * rubric)
    assert not db.exists()  # probing a judge records nothing


def test_case_prints_dims_both_verdicts_and_reasoning(files):
    repo, db, tmp = files
    candidate = write(tmp / "c.json", json.dumps({"title": "x", "questions": [
        "What size of tank do you have room for?", "Do you want freshwater or saltwater fish?",
        "Which fish species do you like?", "How often can you clean the tank?", "Is the tank for a child?",
        "Do you already own a filter?", "Where in the house will the tank stand?"]}))
    result = cli("case", "--case", "r01", "--candidate", str(candidate), "--judge", "proxy-v1", repo=repo, db=db)
    assert result.returncode == 0, result.stderr
    assert "proxy:minilm-l6-int8/1+" in result.stdout
    assert "verdict gold (candidate first: gold, gold first: gold)" in result.stdout
    assert "reasoning: proxy scores" in result.stdout and "coverage" in result.stdout


@pytest.mark.parametrize("name, content, args, message", [
    ("six.json", json.dumps({"title": "t", "questions": ["Q?"] * 6}, indent=1), ("--case", "r01"),
     "six.json:3: the candidate has 6 questions, expected 7"),
    ("broken.json", '{"title": "t",\n "questions": [\n', ("--case", "r01"), "broken.json:3: not valid JSON"),
    ("ok.json", json.dumps({"title": "t", "questions": ["Q?"] * 7}), ("--case", "r999"), "no case with id 'r999'"),
    ("ok.json", json.dumps({"title": "t", "questions": ["Q?"] * 7}), ("--case", "r01", "--judge", "oracle"),
     "setting `judge`: Input should be"),
])
def test_bad_input_is_one_clear_error_and_nothing_is_recorded(files, name, content, args, message):
    repo, db, tmp = files
    path = write(tmp / name, content)
    result = cli("case", "--candidate", str(path), *args, repo=repo, db=db)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
    assert not db.exists()
