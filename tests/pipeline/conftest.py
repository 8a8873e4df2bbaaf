"""Fixtures for the pipeline suite: temporary workspaces (a copy of agent_workspace with its own
pipeline.py / knob defaults), a replay runner (fast, no model) and the real SmolLM2 llama runner."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from loop.runners.client import RunnerClient

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = REPO / "agent_workspace"
SMOLLM2 = REPO / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def copy_workspace(dest: Path, *, pipeline: str | None = None, knobs: dict | None = None,
                   settings: dict | None = None) -> Path:
    """A copy of the shipped workspace at `dest`, optionally with another pipeline.py and defaults."""
    shutil.copytree(WORKSPACE, dest, ignore=shutil.ignore_patterns(".cache", "__pycache__"))
    if pipeline is not None:
        (dest / "pipeline.py").write_text(textwrap.dedent(pipeline))
    toml = dest / "pipeline.toml"
    text = toml.read_text()
    for name, value in (knobs or {}).items():
        text = _set_default(text, name, value)
    for key, value in (settings or {}).items():
        text, count = re.subn(rf"(?m)^{key} = [^\n#]+", f"{key} = {_toml(value)} ", text)
        assert count == 1, f"setting {key} not found"
    toml.write_text(text)
    return dest


def _set_default(text: str, knob: str, value) -> str:
    lines = text.splitlines()
    start = lines.index(f"[knobs.{knob}]")
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("default = "):
            lines[i] = f"default = {_toml(value)}"
            return "\n".join(lines) + "\n"
    raise AssertionError(f"knob {knob} has no default")


def _toml(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def make_workspace(tmp_path):
    counter = iter(range(1000))

    def make(**kw) -> Path:
        return copy_workspace(tmp_path / f"ws{next(counter)}" / "agent_workspace", **kw)

    return make


@pytest.fixture(scope="session")
def replay_client():
    with RunnerClient([sys.executable, "-m", "loop.runners.replay_server", "serve"], name="replay") as client:
        yield client


@pytest.fixture(scope="session")
def smollm2_client():
    if not SMOLLM2.exists():
        pytest.fail(f"{SMOLLM2} missing: run `autoresearch models fetch --model smollm2 --model minilm`")
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(SMOLLM2),
            "--n-ctx", "2048", "--threads", "2"]
    with RunnerClient(argv, name="smollm2", timeout_s=120) as client:
        yield client
