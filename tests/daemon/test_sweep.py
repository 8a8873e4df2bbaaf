"""The sweep agent: knobs read from pipeline.toml, defaults rewritten textually, Optuna told the result."""

from __future__ import annotations

import tomllib
from pathlib import Path

import optuna
import pytest

from loop.config import load_config
from loop.daemon.agents.base import AgentContext, make_agent
from loop.daemon.agents.pipeline_knobs import read_knobs, set_defaults, set_table_values
from loop.daemon.agents.sweep import SweepAgent
from loop.errors import InputError

TINY = '''# a tiny pipeline config
[pipeline]
name = "tiny"  # the name
adapter_path = ""    # none yet

# decoding temperature
[knobs.temperature]
type = "float"
low = 0.0
high = 1.0
default = 0.2   # start cool

[knobs.strategy]
type = "categorical"
choices = ["single", "eight_then_trim"]
default = "single"

[knobs.n_examples]
type = "int"
low = 0
high = 3
default = 0
'''


class Services:
    def __init__(self):
        self.recorded = []

    def record_hypothesis(self, hypothesis, method, lever="inference"):
        self.recorded.append((hypothesis, method, lever))


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    (tmp_path / "wt" / "agent_workspace").mkdir(parents=True)
    (tmp_path / "wt" / "agent_workspace" / "pipeline.toml").write_text(TINY)
    return tmp_path / "wt"


@pytest.fixture
def config(tmp_path: Path, daemon_env):
    return load_config(tmp_path, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", agent="sweep")


def test_defaults_are_rewritten_and_every_comment_survives(worktree):
    path = worktree / "agent_workspace" / "pipeline.toml"
    set_defaults(path, {"temperature": 0.6, "strategy": "eight_then_trim"})
    text = path.read_text()
    assert "default = 0.6   # start cool" in text and 'default = "eight_then_trim"' in text
    assert text.replace("0.6   #", "0.2   #").replace('"eight_then_trim"\n\n[knobs.n', '"single"\n\n[knobs.n') == TINY
    knobs = read_knobs(path)
    assert knobs["temperature"].default == 0.6 and knobs["strategy"].default == "eight_then_trim"
    set_table_values(path, "pipeline", {"adapter_path": "adapters/a.gguf", "adapter_format": "gguf-lora"})
    data = tomllib.loads(path.read_text())
    assert data["pipeline"] == {"name": "tiny", "adapter_path": "adapters/a.gguf", "adapter_format": "gguf-lora"}
    assert 'adapter_path = "adapters/a.gguf"    # none yet' in path.read_text()


def test_an_unknown_knob_is_an_input_error(worktree):
    with pytest.raises(InputError, match="nope"):
        set_defaults(worktree / "agent_workspace" / "pipeline.toml", {"nope": 1})


def test_one_trial_per_experiment_moves_at_most_two_knobs_and_learns_the_result(worktree, config):
    agent = make_agent(config)
    assert isinstance(agent, SweepAgent)
    services = Services()
    ctx = AgentContext(number=5, worktree=worktree, config=config, services=services, ruler_id="f" * 64,
                       best_quality=0.4, best_dev_quality=0.37)
    outcome = agent.run(ctx)
    assert outcome.error is None and outcome.hypothesis.startswith("sweep: ")
    assert services.recorded[0][0] == outcome.hypothesis and services.recorded[0][2] == "inference"
    after = read_knobs(worktree / "agent_workspace" / "pipeline.toml")
    before = read_knobs_from_text(TINY)
    moved = [n for n in after if after[n].default != before[n].default]
    assert 1 <= len(moved) <= 2 and all(n in outcome.hypothesis for n in moved)
    study = agent.study("f" * 64)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING]
    assert study.trials[0].value == 0.37  # the incumbent seeded the study with its dev-gate quality (the objective's)
    agent.on_result(5, 0.45, "discarded")
    assert study.trials[1].state == optuna.trial.TrialState.COMPLETE and study.trials[1].value == 0.45
    assert study.trials[1].user_attrs["experiment"] == 5


def test_a_trial_left_running_by_a_dead_daemon_is_failed_next_time(worktree, config):
    SweepAgent(config).run(AgentContext(number=1, worktree=worktree, config=config, services=Services(),
                                        ruler_id="e" * 64))
    fresh = SweepAgent(config)  # a restarted daemon
    fresh.run(AgentContext(number=2, worktree=worktree, config=config, services=Services(), ruler_id="e" * 64))
    states = {t.user_attrs["experiment"]: t.state for t in fresh.study("e" * 64).trials}
    assert states == {1: optuna.trial.TrialState.FAIL, 2: optuna.trial.TrialState.RUNNING}


def read_knobs_from_text(text: str):
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as handle:
        handle.write(text)
    return read_knobs(Path(handle.name))
