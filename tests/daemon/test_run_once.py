"""`autoresearch run --once --agent sweep` end to end on a real temporary git repository."""

from __future__ import annotations

import re


def test_run_once_records_baseline_and_one_experiment_in_db_and_git(research_repo, h):
    done = h.cli(research_repo, "run", "--once", "--agent", "sweep", "--no-live")
    assert done.returncode == 0, done.stderr + done.stdout
    config = h.config_for(research_repo)
    rows = h.rows(config)
    assert sorted(rows) == [0, 1]
    baseline, experiment = rows[0], rows[1]
    assert baseline.status == "kept" and baseline.agent == "baseline" and baseline.gate == "full"
    assert experiment.status in ("kept", "discarded"), experiment.reason
    assert experiment.step == "done" and experiment.agent == "sweep" and experiment.parent == 0
    assert experiment.hypothesis.startswith("sweep: ") and "→" in experiment.hypothesis
    assert experiment.quality is not None and experiment.delta is not None and experiment.dims
    assert experiment.wins + experiment.ties + experiment.losses in (10, 30)
    assert experiment.ruler_id == baseline.ruler_id and experiment.judge_id.startswith("proxy:")
    assert experiment.runner_model and experiment.durations and "rescore" in experiment.durations
    assert "agent_workspace/pipeline.toml" in experiment.diff

    # git: both experiments are kept under refs/experiments, the research branch tells the story
    for number, row in rows.items():
        assert h.git(research_repo, "rev-parse", f"refs/experiments/{number:04d}") == row.commit
    t = h.trailers(research_repo, "refs/experiments/0001")
    assert t["Experiment"] == "0001" and t["Status"] == experiment.status and t["Parent"] == "0000"
    assert t["Lever"] == "inference" and t["Operator"] == "autonomous" and t["Gate"] == experiment.gate
    assert float(t["Quality"]) == round(experiment.quality, 4) and t["Ruler"] == experiment.ruler_id
    assert t["Judge"] == experiment.judge_id and t["Runner-Model"].startswith(experiment.runner_model)
    assert set(t) >= {"Experiment", "Status", "Lever", "Operator", "Gate", "Quality", "Delta", "Ruler", "Judge",
                      "Runner-Model", "Parent"}
    subject = h.git(research_repo, "log", "-1", "--format=%s", "refs/experiments/0001")
    assert re.match(r"exp 0001: sweep: ", subject)
    parent = h.git(research_repo, "rev-parse", "refs/experiments/0001^")
    assert parent == baseline.commit == experiment.parent_commit or parent == experiment.parent_commit
    research = h.git(research_repo, "rev-parse", "research")
    assert research == (experiment.commit if experiment.status == "kept" else baseline.commit)
    if experiment.status == "discarded":  # research still holds the baseline commit, one past main
        assert h.git(research_repo, "rev-parse", "main") == h.git(research_repo, "rev-parse", "research~1")
    else:
        assert experiment.status == "kept", experiment.reason
    h.assert_git_clean(research_repo)
    changed = h.git(research_repo, "diff", "--name-only", baseline.commit, experiment.commit).split()
    assert changed == ["agent_workspace/pipeline.toml"]

    # the CLI reads it back
    log = h.cli(research_repo, "log", "--all")
    assert log.returncode == 0 and "0000 kept" in log.stdout and f"0001 {experiment.status}" in log.stdout
    status = h.cli(research_repo, "status")
    assert "daemon: not running" in status.stdout and "kept 1" in status.stdout
    show = h.cli(research_repo, "show", "1")
    assert show.returncode == 0 and "sweep:" in show.stdout and "pipeline.toml" in show.stdout
    assert "r01" in show.stdout  # the per-case table
    logfile = (research_repo / ".autoresearch" / "logs" / "daemon.log").read_text()
    assert "experiment 0001: rescore" in logfile and "daemon stopped" in logfile


def test_second_run_continues_from_the_incumbent(research_repo, h):
    assert h.cli(research_repo, "run", "--once", "--no-live").returncode == 0
    again = h.cli(research_repo, "run", "--max-experiments", "2", "--no-live")
    assert again.returncode == 0, again.stderr
    rows = h.rows(h.config_for(research_repo))
    assert sorted(rows) == [0, 1, 2, 3], [(n, r.agent, r.status, r.reason, r.hypothesis) for n, r in rows.items()]
    assert [r.agent for r in rows.values()].count("baseline") == 1
    assert all(r.step == "done" for r in rows.values())
    assert "max experiments reached (2)" in again.stderr
