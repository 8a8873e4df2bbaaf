"""`autoresearch report`: where it writes (never into the repository by default), --no-gold, --json, the
hooks for analyses not yet run, and one clear error for each bad input with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loop.cli import app
from loop.db.session import upgrade
from tests.support.dashboard_records import gold_questions, populate, write_ruler
from tests.support.report_records import HOLDOUT_ANSWER, HOLDOUT_GOLD, HOLDOUT_TASK, add_report_extras

GOLD = gold_questions("Plan a trip to Paris")[0].replace("'", "&#x27;")


@pytest.fixture
def project(tmp_path: Path):
    root = tmp_path / "project"
    write_ruler(root / "ruler")
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    populate(url, 24)
    return root, url


def report(root: Path, url: str, *args: str):
    return CliRunner().invoke(app, ["report", "--repo", str(root), "--db", url, *args])


def test_the_default_is_the_current_directory_but_never_inside_the_repository(project, tmp_path, monkeypatch):
    root, url = project
    monkeypatch.chdir(root / "ruler")
    refused = report(root, url)
    assert refused.exit_code == 2 and "--out" in refused.output and "inside the repository" in refused.output
    assert list(root.rglob("*.html")) == []

    explicit = report(root, url, "--out", str(root / "report.html"))  # asked for: written there
    assert explicit.exit_code == 0, explicit.output
    assert (root / "report.html").stat().st_size > 1_000_000

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    done = report(root, url, "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["out"] == str(elsewhere / "autoresearch-report.html") and summary["gold"] is True
    assert Path(summary["out"]).stat().st_size == summary["bytes"]


def test_no_gold_leaves_gold_out_and_holdout_is_never_shown(project, tmp_path):
    root, url = project
    add_report_extras(url, root / "ruler", tmp_path / "store")
    with_gold, without = tmp_path / "with.html", tmp_path / "without.html"
    assert report(root, url, "--out", str(with_gold)).exit_code == 0
    assert report(root, url, "--out", str(without), "--no-gold").exit_code == 0
    shown, hidden = with_gold.read_text(), without.read_text()
    assert GOLD in shown and GOLD not in hidden and "Gold sets are left out" in hidden
    assert "Q1 about plan a trip to paris" in hidden  # the candidates stay
    for text in (shown, hidden):
        for sealed in (HOLDOUT_TASK, HOLDOUT_ANSWER, HOLDOUT_GOLD):
            assert sealed not in text


def test_analyses_not_run_leave_their_hooks(project, tmp_path):
    root, url = project
    out = tmp_path / "r.html"
    assert report(root, url, "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert 'id="ceiling-hook"' in html and 'id="rejudge-hook"' in html
    assert "table class=\"tab ceiling\"" not in html


@pytest.mark.parametrize("args,message", [
    (["--ruler", "f" * 12], "scored no experiment"),
    (["--experiment", "999"], "no experiment #999"),
    (["--experiment", "1"], "not scored under ruler"),  # experiment 1 is under the older ruler
    (["--out", "/nonexistent/dir/r.html"], "does not exist"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(project, tmp_path, args, message):
    root, url = project
    out = [] if "--out" in args else ["--out", str(tmp_path / "r.html")]
    result = report(root, url, *args, *out)
    assert result.exit_code == 2 and message in result.output, result.output
    assert list(tmp_path.glob("*.html")) == []


def test_a_missing_or_empty_record_is_refused(tmp_path):
    root = tmp_path / "project"
    write_ruler(root / "ruler")
    missing = report(root, str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "r.html"))
    assert missing.exit_code == 2 and "no database at" in missing.output
    upgrade(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    empty = report(root, str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "r.html"))
    assert empty.exit_code == 2 and "holds no experiment" in empty.output
    assert not (tmp_path / "r.html").exists()
