"""`runner = "apple-mock"` / `--runner apple-mock`: the compiled fm-runner's mock backend on the Apple
code path of the factory (same binary, same client settings as `apple`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loop.cli import app
from loop.config import Config, load_config
from loop.runners import factory

BINARY = Path(__file__).resolve().parents[2] / "native" / ".build" / "release" / "fm-runner"


def test_apple_mock_is_the_apple_binary_with_the_mock_backend(tmp_path):
    binary = tmp_path / "fm-runner"
    assert factory.runner_argv(Config(runner="apple-mock", fm_runner_path=binary)) == [str(binary), "serve", "--backend", "mock"]
    assert factory.runner_argv(Config(runner="apple", fm_runner_path=binary)) == [str(binary), "serve"]


def test_apple_mock_is_a_config_value(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTORESEARCH_RUNNER", raising=False)
    (tmp_path / "autoresearch.toml").write_text('runner = "apple-mock"\n')
    assert load_config(tmp_path).runner == "apple-mock"


@pytest.mark.needs_swift
@pytest.mark.skipif(not BINARY.is_file(), reason=f"fm-runner is not built ({BINARY}); run `make native`")
def test_cli_probe_on_apple_mock_reports_the_mock_dialect(monkeypatch):
    monkeypatch.delenv("AUTORESEARCH_RUNNER", raising=False)
    result = CliRunner().invoke(app, ["runner", "probe", "--runner", "apple-mock", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["name"], data["model"], data["dialect"], data["available"]) == ("mock", "mock-fm", "mock", True)
