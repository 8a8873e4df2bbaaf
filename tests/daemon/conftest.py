"""Daemon fixtures: a real temporary git repository made from the project's ruler/ and
agent_workspace/, a SQLite record in tmp, the replay runner and the proxy judge."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loop.config import load_config
from loop.db.session import upgrade
from loop.ruler_lock import write_lock

REPO = Path(__file__).resolve().parents[2]
GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "test",
           "GIT_COMMITTER_EMAIL": "t@localhost"}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


def make_repo(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for part in ("ruler", "agent_workspace"):
        shutil.copytree(REPO / part, dest / part, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    shutil.copy(REPO / ".gitignore", dest / ".gitignore")
    write_lock(dest / "ruler")
    (dest / "autoresearch.toml").write_text("desktop_notifications = false\ninterval_s = 0\n")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "project snapshot")
    return dest


@pytest.fixture
def daemon_env(monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_REPLAY_ANSWERS", "AUTORESEARCH_REPLAY_DELAY_MS",
                 "AUTORESEARCH_CRASH_AT", "DATABASE_URL", "AUTORESEARCH_REPO"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def research_repo(tmp_path: Path, daemon_env) -> Path:
    return make_repo(tmp_path / "repo")


def fresh_copy(source: Path, dest_parent: Path) -> Path:
    """A copy of a research repository and its record (the record lives beside the repo)."""
    shutil.copytree(source, dest_parent / "repo", symlinks=True)
    for db in source.parent.glob("record.sqlite*"):
        shutil.copy(db, dest_parent / db.name)
    return dest_parent / "repo"


def config_for(repo: Path, **overrides):
    settings = dict(database_url=f"sqlite:///{repo.parent / 'record.sqlite'}", judge="proxy", runner="replay",
                    agent="sweep", desktop_notifications=False, interval_s=0)
    settings.update(overrides)
    return load_config(repo, **settings)


@pytest.fixture
def research_config(research_repo: Path):
    config = config_for(research_repo)
    upgrade(config)
    return config


def cli(repo: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`autoresearch ...` as a subprocess on the temp repo (the daemon's real entry point)."""
    full_env = {**os.environ, "AUTORESEARCH_REPO": str(repo), "DATABASE_URL": f"sqlite:///{repo.parent / 'record.sqlite'}",
                "AUTORESEARCH_JUDGE": "proxy", "AUTORESEARCH_RUNNER": "replay", "AUTORESEARCH_AGENT": "sweep",
                **(env or {})}
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_REPLAY_ANSWERS", "AUTORESEARCH_REPLAY_DELAY_MS"):
        full_env.pop(name, None)
    if "AUTORESEARCH_CRASH_AT" not in (env or {}):
        full_env.pop("AUTORESEARCH_CRASH_AT", None)
    return subprocess.run([sys.executable, "-m", "loop.cli", *args], cwd=repo, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


class Helpers:
    """Shared helpers (conftest modules are not importable under --import-mode=importlib)."""

    git = staticmethod(git)
    make_repo = staticmethod(make_repo)
    config_for = staticmethod(config_for)
    cli = staticmethod(cli)
    fresh_copy = staticmethod(fresh_copy)

    @staticmethod
    def rows(config):
        from sqlalchemy import select

        from loop.db.models import Experiment
        from loop.db.session import session_scope

        with session_scope(config) as db:
            return {row.number: row for row in db.scalars(select(Experiment))}

    @staticmethod
    def assert_git_clean(repo: Path) -> None:
        """No worktree besides the main one, no exp/ branch, nothing under .autoresearch/worktrees."""
        listing = git(repo, "worktree", "list", "--porcelain")
        assert listing.count("worktree ") == 1, listing
        assert git(repo, "for-each-ref", "refs/heads/exp/") == ""
        leftovers = repo / ".autoresearch" / "worktrees"
        assert not leftovers.exists() or not any(leftovers.iterdir()), list(leftovers.iterdir())

    @staticmethod
    def line_branch(remote: Path) -> str:
        """The remote's one research branch (`research/<model line key>`): one model line, one branch."""
        branches = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/research/").split()
        assert len(branches) == 1, branches
        return branches[0]

    @staticmethod
    def assert_line_is_the_record(remote: Path, config) -> list[str]:
        """The research remote's branch: linear, the seed commit then exactly the record's kept experiments
        in the order they were kept; every recorded experiment commit is under refs/experiments/NNNN there."""
        branch = Helpers.line_branch(remote)
        assert git(remote, "rev-list", "--merges", branch) == ""
        history = git(remote, "rev-list", "--first-parent", "--reverse", branch).split()
        rows = Helpers.rows(config)
        kept = [r.commit for r in sorted(rows.values(), key=lambda r: r.finished_at) if r.status == "kept"]
        assert history[1:] == kept
        for number, row in rows.items():
            if row.commit:
                assert git(remote, "rev-parse", f"refs/experiments/{number:04d}") == row.commit, number
        return history

    @staticmethod
    def trailers(repo: Path, ref: str) -> dict[str, str]:
        from loop.daemon.gitrecord import parse_trailers

        return parse_trailers(git(repo, "log", "-1", "--format=%B", ref))


@pytest.fixture(scope="session")
def h() -> type[Helpers]:
    return Helpers


@pytest.fixture(scope="session")
def baseline_repo(tmp_path_factory) -> Path:
    """A research repository whose record holds the baseline (0) and one sweep experiment (1)."""
    repo = make_repo(tmp_path_factory.mktemp("baseline") / "repo")
    done = cli(repo, "run", "--once", "--no-live")
    assert done.returncode == 0, done.stderr
    return repo


@pytest.fixture
def repo_copy(baseline_repo: Path, tmp_path: Path, daemon_env) -> Path:
    return fresh_copy(baseline_repo, tmp_path)
