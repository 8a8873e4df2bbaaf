"""Attack-suite fixtures: ONE research repository (ruler/ and agent_workspace/ of the project, a real git
repo, a SQLite record) whose baseline is measured once, and one `Resources` (replay runner, proxy judge,
MiniLM embedder) shared by every attack; each attack is one real daemon iteration with a scripted agent.

The terminal summary prints the table of attacks (attack, channel, caught by, outcome) whenever the
attack tests ran.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "test",
           "GIT_COMMITTER_EMAIL": "t@localhost"}
TABLE: list[tuple[str, str, str, str]] = []  # (attack, channel, caught by, outcome), filled by the tests


def _load_kit():
    spec = importlib.util.spec_from_file_location("attack_kit", Path(__file__).with_name("kit.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KIT = _load_kit()


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


class NoEdit:
    name = "scripted"

    def run(self, ctx):
        from loop.daemon.agents.base import AgentOutcome

        ctx.services.record_hypothesis("scripted: no change", "nothing", "inference")
        return AgentOutcome(hypothesis="scripted: no change")


@pytest.fixture(scope="session")
def attack_table() -> list:
    return TABLE


@pytest.fixture(scope="session")
def attack_lab(tmp_path_factory):
    """(config, resources, baseline research tip): the shared repository with its baseline measured."""
    from loop.config import load_config
    from loop.daemon.resources import Resources
    from loop.daemon.runloop import Daemon, RunOptions
    from loop.ruler_lock import write_lock

    saved = {k: os.environ.pop(k) for k in ("ANTHROPIC_API_KEY", "AUTORESEARCH_REPLAY_ANSWERS", "DATABASE_URL",
                                              "AUTORESEARCH_REPLAY_DELAY_MS", "AUTORESEARCH_CRASH_AT",
                                              "AUTORESEARCH_REPO") if k in os.environ}
    repo = tmp_path_factory.mktemp("attacks") / "repo"
    repo.mkdir()
    for part in ("ruler", "agent_workspace"):
        shutil.copytree(REPO / part, repo / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    write_lock(repo / "ruler")
    (repo / "autoresearch.toml").write_text("desktop_notifications = false\ninterval_s = 0\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project snapshot")
    config = load_config(repo, database_url=f"sqlite:///{repo.parent / 'record.sqlite'}", judge="proxy",
                         runner="replay", agent="sweep", desktop_notifications=False, interval_s=0)
    resources = Resources(config)
    Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=NoEdit(),
           resources=resources).run()
    tip = resources.git.research_tip()
    yield config, resources, tip
    resources.close()
    os.environ.update(saved)


def pytest_terminal_summary(terminalreporter):
    if not TABLE:
        return
    widths = [max(len(row[i]) for row in TABLE + [("attack", "channel", "caught by", "outcome")]) for i in range(4)]
    line = lambda row: "  ".join(cell.ljust(w) for cell, w in zip(row, widths))  # noqa: E731
    terminalreporter.section(f"attack suite: {len(TABLE)} attacks through the daemon")
    terminalreporter.write_line(line(("attack", "channel", "caught by", "outcome")))
    terminalreporter.write_line(line(tuple("-" * w for w in widths)))
    for row in sorted(TABLE):
        terminalreporter.write_line(line(row))
