"""The real sweep agent on the shipped pipeline.toml honours the supervisor's focus: every trial's search
space is the focused family's knobs (the one table in loop/supervisor/families.py), and only those move."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from loop.config import load_config
from loop.daemon.agents.base import AgentContext
from loop.daemon.agents.pipeline_knobs import read_knobs
from loop.daemon.agents.sweep import SweepAgent
from loop.supervisor.families import FAMILIES
from loop.supervisor.store import NoteView

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "agent_workspace" / "pipeline.toml"


class Services:
    def record_hypothesis(self, hypothesis, method, lever="inference"):
        self.recorded = (hypothesis, method, lever)


def note(*focus: str) -> NoteView:
    return NoteView(id=1, text="look here", focus=list(focus), for_experiments=None, shown_to=[], author="ada",
                    created_at=datetime.now(timezone.utc))


@pytest.fixture
def config(tmp_path: Path, daemon_env):
    return load_config(tmp_path, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", agent="sweep")


def run_trials(config, tmp_path: Path, steering: list[NoteView], numbers=range(1, 9)):
    """One fresh worktree per experiment, the same study; returns [(trial params, moved knobs, method)]."""
    agent, seen = SweepAgent(config), []
    for number in numbers:
        worktree = tmp_path / f"wt{number}"
        (worktree / "agent_workspace").mkdir(parents=True)
        shutil.copy(SHIPPED, worktree / "agent_workspace" / "pipeline.toml")
        ctx = AgentContext(number=number, worktree=worktree, config=config, services=Services(), ruler_id="c" * 64,
                           best_dev_quality=0.4, steering=steering)
        outcome = agent.run(ctx)
        assert outcome.error is None
        before, after = read_knobs(SHIPPED), read_knobs(worktree / "agent_workspace" / "pipeline.toml")
        moved = {k for k in after if after[k].default != before[k].default}
        trial = agent.study("c" * 64).trials[-1]
        seen.append((set(trial.params), moved, outcome.method))
        agent.on_result(number, 0.3 + number / 100, "discarded")
    return seen


def test_the_shipped_knobs_all_belong_to_a_family():
    families_of = {knob for f in FAMILIES.values() for knob in f.knobs}
    assert set(read_knobs(SHIPPED)) == families_of


@pytest.mark.parametrize("family", ["candidates", "cleanup", "decoding"])
def test_every_trial_searches_only_the_focused_family(config, tmp_path, family):
    allowed = set(FAMILIES[family].knobs)
    seen = run_trials(config, tmp_path, [note(family)])
    for params, moved, method in seen:
        assert params and params <= allowed, params
        assert moved <= allowed, moved
        assert f"focus ({family}) to {', '.join(sorted(allowed))}." in method
    assert set().union(*(params for params, _, _ in seen)) == allowed  # the whole family is searched


def test_without_a_focus_the_sweep_roams_beyond_one_family(config, tmp_path):
    seen = run_trials(config, tmp_path, [])
    assert len(set().union(*(params for params, _, _ in seen))) > 2
    assert not any("focus" in method for _, _, method in seen)


def test_a_focus_with_no_knobs_searches_everything_and_says_so(config, tmp_path):
    seen = run_trials(config, tmp_path, [note("prompt")], numbers=range(1, 4))
    assert all("names no knob of this pipeline.toml" in method for _, _, method in seen)
    assert len(set().union(*(params for params, _, _ in seen))) > 2


def test_two_notes_focus_on_the_union_of_their_families(config, tmp_path):
    allowed = set(FAMILIES["retrieval"].knobs) | set(FAMILIES["schema"].knobs)
    seen = run_trials(config, tmp_path, [note("retrieval"), note("schema")], numbers=range(1, 6))
    assert all(params <= allowed for params, _, _ in seen)
