"""SIGKILL the daemon on entering each step, restart it, and check DB and git are consistent."""

from __future__ import annotations

import signal

import pytest

STEPS_BEFORE_RECORD = ["claimed", "worktree", "agent", "verify", "rescore", "decide", "commit", "record"]
STEPS_AFTER_RECORD = ["cleanup", "notify"]


@pytest.mark.parametrize("step", STEPS_BEFORE_RECORD + STEPS_AFTER_RECORD)
def test_sigkill_at_each_step_then_restart_is_consistent(step, repo_copy, h):
    repo = repo_copy
    killed = h.cli(repo, "run", "--once", "--no-live", env={"AUTORESEARCH_CRASH_AT": step})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    config = h.config_for(repo)
    before = h.rows(config)
    assert before[2].step == step
    assert before[2].status == ("running" if step in STEPS_BEFORE_RECORD else before[2].status)

    restarted = h.cli(repo, "run", "--once", "--no-live")
    assert restarted.returncode == 0, restarted.stderr
    rows = h.rows(config)
    interrupted = rows[2]
    if step in STEPS_BEFORE_RECORD:
        assert interrupted.status == "crashed"
        assert interrupted.reason == f"died in step {step}" and interrupted.step == step
        assert f"experiment 0002 marked crashed (died in step {step})" in restarted.stderr
    else:  # decided and recorded before the kill: the restart only finishes its cleanup
        assert interrupted.status in ("kept", "discarded") and interrupted.step == "done"
    # its work is kept under refs/experiments when it produced any (the agent ran from 'verify' on)
    ref = h.git(repo, "for-each-ref", "--format=%(objectname)", "refs/experiments/0002")
    produced = step not in ("claimed", "worktree", "agent")
    assert bool(ref) == produced
    if produced:
        assert ref == interrupted.commit
        trailers = h.trailers(repo, "refs/experiments/0002")
        assert trailers["Status"] == interrupted.status and trailers["Experiment"] == "0002"
        assert "agent_workspace/pipeline.toml" in h.git(repo, "diff", "--name-only", f"{ref}^", ref)
    research = h.git(repo, "log", "--format=%B", "research")
    assert ("Experiment: 0002" in research) == (interrupted.status == "kept")
    # the next iteration ran, and nothing is left behind
    assert rows[3].status in ("kept", "discarded") and rows[3].step == "done"
    h.assert_git_clean(repo)
