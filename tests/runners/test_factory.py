"""Which runner a Config opens, and the CLI's `runner probe`."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from loop import models
from loop.cli import app
from loop.config import Config
from loop.runners import factory
from loop.runners.protocol import Backend


def test_llama_argv_uses_the_verified_model_and_its_pinned_hash(smollm2_path):
    argv = factory.runner_argv(Config(runner="llama", model="smollm2"))
    assert argv[:3] == [sys.executable, "-m", "loop.runners.llama_server"]
    assert argv[argv.index("--model") + 1] == str(smollm2_path)
    assert argv[argv.index("--sha256") + 1] == models.REGISTRY["smollm2"].files[0].sha256


def test_other_runner_argvs(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_REPLAY_DELAY_MS", "100")
    assert factory.runner_argv(Config(runner="replay"))[-2:] == ["--delay-ms", "100"]
    binary = tmp_path / "fm-runner"
    assert factory.runner_argv(Config(runner="apple", fm_runner_path=binary)) == [str(binary), "serve"]
    assert factory.runner_argv(Config(runner="apple"))[0].endswith("native/.build/release/fm-runner")
    cloud = factory.runner_argv(Config(runner="cloud", model="claude-haiku-4-5"))
    assert cloud[-2:] == ["--model", "claude-haiku-4-5"]
    assert factory.runner_argv(Config(runner="cloud"))[-1] == factory.DEFAULT_CLOUD_MODEL


def test_a_missing_model_names_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTORESEARCH_MODELS_DIR", str(tmp_path))
    with pytest.raises(models.ModelFileError, match="autoresearch models fetch --model qwen0.5b"):
        factory.runner_argv(Config(runner="llama", model="qwen0.5b"))


@pytest.mark.skipif(sys.platform == "darwin", reason="on macOS auto may pick the Apple runner")
def test_auto_is_llama_off_macos(monkeypatch):
    with factory.open_runner(Config(runner="auto", model="smollm2")) as client:
        assert client.backend.name == "llama" and client.reference is False


def test_cloud_results_are_marked_reference_only():
    assert factory.is_reference(Backend(name="cloud", model="m", model_version=None, os_build=None,
                                        adapter_signature=None))
    assert not factory.is_reference(Backend(name="llama", model="m", model_version=None, os_build=None,
                                            adapter_signature=None))
    with factory.open_runner(Config(runner="cloud", anthropic_base_url="http://127.0.0.1:9")) as client:
        assert client.reference is True and client.backend.name == "cloud"


def test_cli_probe_json_and_table():
    result = CliRunner().invoke(app, ["runner", "probe", "--runner", "replay", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "replay" and data["available"] is True and data["reference_only"] is False
    table = CliRunner().invoke(app, ["runner", "probe", "--runner", "llama", "--model", "smollm2"])
    assert table.exit_code == 0, table.output
    for needle in ("llama", "SmolLM2-135M-Instruct.Q4_1.gguf", "b179c9523d0e", "os_build", "yes"):
        assert needle in table.stdout


def test_cli_probe_errors_are_clear(monkeypatch, tmp_path):
    bad = CliRunner().invoke(app, ["runner", "probe", "--runner", "quantum"])
    assert bad.exit_code == 2 and "--runner must be" in bad.output
    monkeypatch.setenv("AUTORESEARCH_MODELS_DIR", str(tmp_path))
    missing = CliRunner().invoke(app, ["runner", "probe", "--runner", "llama", "--model", "smollm2"])
    assert missing.exit_code == 1 and "models fetch --model smollm2" in missing.output
