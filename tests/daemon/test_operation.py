"""Operating the daemon: the single-instance lock, SIGTERM mid-experiment, the adapter inbox, windows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from loop.daemon.lock import DaemonLock, holder_pid
from loop.daemon.scheduler import Window, until_moment


def test_a_second_daemon_under_the_same_worker_name_is_refused_with_the_holders_pid(repo_copy, h):
    with DaemonLock(repo_copy, "night"):
        assert holder_pid(repo_copy, "night") == os.getpid()
        refused = h.cli(repo_copy, "run", "--once", "--no-live", "--worker", "night")
    assert refused.returncode == 3
    assert "already running as worker 'night'" in refused.stderr and f"pid {os.getpid()}" in refused.stderr
    assert sorted(h.rows(h.config_for(repo_copy))) == [0, 1]  # the refused daemon did nothing
    assert holder_pid(repo_copy, "night") is None
    assert not (repo_copy / ".autoresearch" / "workers" / "night.lock").exists()


def _popen_daemon(repo: Path, env_extra: dict) -> subprocess.Popen:
    env = {**os.environ, "AUTORESEARCH_REPO": str(repo), "DATABASE_URL": f"sqlite:///{repo.parent / 'record.sqlite'}",
           "AUTORESEARCH_JUDGE": "proxy", "AUTORESEARCH_RUNNER": "replay", "AUTORESEARCH_AGENT": "sweep", **env_extra}
    env.pop("ANTHROPIC_API_KEY", None)
    return subprocess.Popen([sys.executable, "-m", "loop.cli", "run", "--no-live"], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_step(config, h, number: int, step: str, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        row = h.rows(config).get(number)
        if row is not None and row.step == step:
            return
        time.sleep(0.1)
    raise AssertionError(f"experiment {number} never reached step {step}")


def test_a_dropped_adapter_becomes_an_interactive_sft_experiment(repo_copy, h):
    from loop.daemon.runloop import Daemon, RunOptions

    inbox = repo_copy / "adapters" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "sft-trip-1.gguf").write_bytes(b"GGUF" + b"\x00" * 64)
    (inbox / "sft-trip-1.gguf.json").write_text('{"recipe": "sft"}')
    config = h.config_for(repo_copy)
    Daemon(config, RunOptions(once=True, live=False, handle_signals=False)).run()
    row = h.rows(config)[2]
    assert row.operator == "interactive" and row.lever == "sft" and row.agent == "adapter"
    assert row.hypothesis.startswith("adapter: sft-trip-1 (sft") and row.status in ("kept", "discarded")
    assert not (inbox / "sft-trip-1.gguf").exists() and not (inbox / "sft-trip-1.gguf.json").exists()
    tree = h.git(repo_copy, "ls-tree", "-r", "--name-only", "refs/experiments/0002").split()
    assert "agent_workspace/adapters/sft-trip-1.json" in tree  # the pointer, never the weights
    assert not any(path.endswith(".gguf") for path in tree)
    stored = list((repo_copy / ".autoresearch" / "adapters" / "objects").glob("*/*.gguf"))
    assert len(stored) == 1 and stored[0].read_bytes() == b"GGUF" + b"\x00" * 64
    toml = h.git(repo_copy, "show", "refs/experiments/0002:agent_workspace/pipeline.toml")
    assert 'adapter_path = "adapters/sft-trip-1.json"' in toml and 'adapter_format = "gguf-lora"' in toml
    assert "# " in toml.split("adapter_path")[1].splitlines()[0]  # the line's comment survived
    t = h.trailers(repo_copy, "refs/experiments/0002")
    assert t["Operator"] == "interactive" and t["Lever"] == "sft"


def test_a_dropped_adapter_without_metadata_is_refused_naming_the_file(repo_copy, h, caplog):
    from loop.daemon.runloop import Daemon, RunOptions

    inbox = repo_copy / "adapters" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "orpo-2.gguf").write_bytes(b"GGUF" + b"\x00" * 64)
    config = h.config_for(repo_copy)
    with caplog.at_level("ERROR", logger="loop.daemon"):
        Daemon(config, RunOptions(once=True, live=False, handle_signals=False)).run()
    assert "orpo-2.gguf.json" in caplog.text and "recipe" in caplog.text
    assert all(row.operator != "interactive" for row in h.rows(config).values())
    assert (inbox / "orpo-2.gguf").exists()


def test_run_windows_cross_midnight_and_until_is_the_next_occurrence():
    night = Window.parse("22:00-07:00")
    assert night.contains(datetime(2026, 1, 1, 23, 30)) and night.contains(datetime(2026, 1, 2, 6, 59))
    assert not night.contains(datetime(2026, 1, 2, 7, 0)) and not night.contains(datetime(2026, 1, 2, 12, 0))
    assert night.next_open(datetime(2026, 1, 2, 12, 0)) == datetime(2026, 1, 2, 22, 0)
    assert night.next_open(datetime(2026, 1, 2, 23, 0)) == datetime(2026, 1, 2, 23, 0)
    day = Window.parse("09:00-17:00")
    assert day.contains(datetime(2026, 1, 2, 9, 0)) and not day.contains(datetime(2026, 1, 2, 17, 0))
    assert until_moment("07:00", datetime(2026, 1, 1, 23, 0)) == datetime(2026, 1, 2, 7, 0)
    assert until_moment("23:30", datetime(2026, 1, 1, 23, 0)) == datetime(2026, 1, 1, 23, 30)
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        Window.parse("tonight")


def test_bad_window_is_refused_by_the_cli(repo_copy, h):
    refused = h.cli(repo_copy, "run", "--window", "late", "--no-live")
    assert refused.returncode == 2 and "HH:MM-HH:MM" in refused.stderr
