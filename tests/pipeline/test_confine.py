"""Confinement settings: the environment allow-list, the bwrap mounts, the fallback when bwrap is
missing, the macOS profile text (not executable here), and the sandbox benchmark's figures."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from loop.sandbox import confine

from .conftest import REPO


def test_worker_env_is_built_from_an_allow_list(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "secret")
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = confine.worker_env(tmp_path, pythonpath=[REPO])
    assert "ANTHROPIC_API_KEY" not in env and "GITHUB_TOKEN" not in env
    assert env["HOME"] == str(tmp_path) and env["PYTHONPATH"] == str(REPO) and env["LANG"] == "C.UTF-8"


def test_bwrap_mounts_the_workspace_and_loop_but_never_the_repo_or_ruler(tmp_path):
    workspace = tmp_path / "agent_workspace"
    argv = confine.bwrap_argv(workspace, Path("/tmp/home"))
    assert "--unshare-all" in argv and "--die-with-parent" in argv
    binds = [argv[i + 2] for i, a in enumerate(argv) if a in ("--ro-bind", "--ro-bind-try", "--bind")]
    assert str(workspace) in binds and str(REPO / "loop") in binds
    assert "--bind" not in argv  # nothing is mounted writable
    assert str(REPO) not in binds and not any("ruler" in b for b in binds)
    assert not any(Path(b) in (Path("/"), Path("/work"), Path("/root")) for b in binds)


def test_auto_falls_back_loudly_when_bwrap_is_missing(monkeypatch, caplog):
    monkeypatch.setattr(confine, "_bwrap_works", lambda: (False, "bwrap not found"))
    monkeypatch.setattr(confine.platform, "system", lambda: "Linux")
    with caplog.at_level(logging.WARNING, logger="loop.sandbox.confine"):
        assert confine.resolve_mode("auto") == "none"
    assert "NO SANDBOX" in caplog.text and "bwrap not found" in caplog.text
    with pytest.raises(confine.SandboxUnavailable, match="bwrap not found"):
        confine.resolve_mode("bwrap")


def test_none_is_warned_as_debugging_only(caplog):
    with caplog.at_level(logging.WARNING, logger="loop.sandbox.confine"):
        assert confine.resolve_mode("none") == "none"
    assert "SANDBOX DISABLED" in caplog.text


def test_macos_profile_denies_network_and_ruler_reads(tmp_path):
    profile = confine.sandbox_exec_profile(tmp_path / "agent_workspace", tmp_path / "home")
    assert "(deny network*)" in profile
    assert f'(subpath "{REPO / "ruler"}")' in profile and f'(subpath "{tmp_path / "ruler"}")' in profile
    assert f'(allow file-write* (subpath "{tmp_path / "home"}")' in profile


def test_sandbox_benchmark_reports_overhead(capsys):
    from bench.bench_sandbox import main

    main(cases=5)
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["sandbox_mode"] == "bwrap"
    assert float(lines["sandbox_overhead_ms_per_case"]) < 50
