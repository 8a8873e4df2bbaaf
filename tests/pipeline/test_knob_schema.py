"""The knob schema is declared once (loop/knob_schema.py): the sweep and the pipeline loader read the
same definition, so a knob (or a proposal) the sweep accepts always loads."""

from __future__ import annotations

import sys

import optuna
import pytest

from loop.daemon.agents import pipeline_knobs, sweep
from loop.errors import InputError
from loop.knob_schema import KnobSpec

from .conftest import WORKSPACE


@pytest.fixture(scope="module")
def load_pipeline_config():
    sys.path.insert(0, str(WORKSPACE))
    try:
        from steps import config

        assert config.Knob is KnobSpec, "the pipeline loader uses the product's knob schema"
        yield config.load_pipeline_config
    finally:
        sys.path.remove(str(WORKSPACE))


EXTRA_KNOBS = '''
[knobs.learning_rate]
type = "float"
low = 0.001
high = 1.0
log = true
default = 0.01

[knobs.stride]
type = "int"
low = 2
high = 10
step = 2
default = 4
help = "a knob using every field the schema has"
'''


def test_both_readers_accept_the_same_knobs(make_workspace, load_pipeline_config):
    workspace = make_workspace()
    toml = workspace / "pipeline.toml"
    toml.write_text(toml.read_text() + EXTRA_KNOBS)
    swept = pipeline_knobs.read_knobs(toml)
    loaded = load_pipeline_config(workspace)["knobs"]
    assert set(swept) == set(loaded)
    for name, knob in swept.items():
        assert isinstance(knob, KnobSpec)
        assert knob.model_dump(exclude={"name"}, exclude_none=True) == KnobSpec(**loaded[name]).model_dump(exclude_none=True)


@pytest.mark.parametrize("table, message", [
    ('type = "float"\nlow = 0.0\nhigh = 1.0\nlog = true\ndefault = 0.5', "log-scale knob needs `low` > 0"),
    ('type = "int"\nlow = 0\nhigh = 9\nstep = 0.5\ndefault = 1', "`step` must be > 0"),
    ('type = "categorical"\nchoices = ["a"]\nlog = true\ndefault = "a"', "takes `choices`"),
    ('type = "int"\nlow = 0\nhigh = 9\ndefault = 12', "outside [0.0, 9.0]"),
    ('type = "float"\nlow = 0.0\nhigh = 1.0\ndefault = 0.5\nspeed = 3', "speed"),
])
def test_both_readers_refuse_the_same_knobs(make_workspace, load_pipeline_config, table, message):
    workspace = make_workspace()
    toml = workspace / "pipeline.toml"
    toml.write_text(toml.read_text() + f"\n[knobs.bad]\n{table}\n")
    with pytest.raises(InputError, match="knobs.bad") as swept:
        pipeline_knobs.read_knobs(toml)
    with pytest.raises(InputError, match="knobs.bad") as loaded:
        load_pipeline_config(workspace)
    assert message in str(swept.value) and message in str(loaded.value)
    assert loaded.value.line is not None


def test_every_sweep_proposal_on_the_shipped_knobs_loads(make_workspace, load_pipeline_config):
    workspace = make_workspace()
    toml = workspace / "pipeline.toml"
    knobs = pipeline_knobs.read_knobs(toml)
    distributions = {name: sweep._distribution(knob) for name, knob in knobs.items()}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    for _ in range(25):
        trial = study.ask(distributions)
        pipeline_knobs.set_defaults(toml, trial.params)
        values = load_pipeline_config(workspace)["values"]
        for name, proposed in trial.params.items():
            assert values[name] == pytest.approx(proposed, abs=1e-6) if isinstance(proposed, float) \
                else values[name] == proposed, name
        study.tell(trial, 0.0)
