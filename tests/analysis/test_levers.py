"""`autoresearch analyze levers` on a synthetic record (tests.support.dashboard_records): per lever class runs,
best valid quality, its coverage and gate; the rubric scored as candidate (on-device best vs each cloud anchor)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from loop.db.models import Evaluation, Experiment
from loop.db.session import session_scope
from tests.support.dashboard_records import RULER_NEW, RULER_OLD, populate

ANCHOR = {"atomicity": 5.0, "specificity": 4.0, "coverage": 4.0, "naturalness": 5.0, "non_redundancy": 5.0}
HAIKU, SONNET = "claude-haiku-test", "claude-sonnet-test"


def cli(url: str, repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("ANTHROPIC_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "loop.cli", "analyze", "levers", *args, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=300, env=env)


def reference(model: str, gate: str, dims: dict, quality: float) -> Evaluation:
    return Evaluation(experiment_number=None, kind="reference", gate=gate, ruler_id=RULER_NEW, judge_id="j",
                      workspace_hash="w", runner_backend="cloud", runner_model=model, quality=quality, dims=dims,
                      wins=4, ties=18, losses=8)


@pytest.fixture
def record(tmp_path: Path):
    """80 synthetic experiments, then: a stock baseline, an inference run best on the dev gate, an invalid sft
    run with the highest number of all (never a best), and cloud references (an older one, a dev-gate one)."""
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    populate(url, 80, seed=11)
    with session_scope(url) as db:
        new = list(db.scalars(select(Experiment).where(Experiment.ruler_id == RULER_NEW).order_by(Experiment.number)))
        new[0].agent = "baseline"
        dev_best = next(e for e in new if e.status == "discarded" and e.lever == "inference" and e.agent != "baseline")
        dev_best.gate, dev_best.quality = "dev", 0.97
        invalid = next(e for e in new if e.status == "invalid")
        invalid.lever, invalid.quality = "sft", 0.999
        db.add(reference(SONNET, "full", {**ANCHOR, "coverage": 2.0}, 0.50))  # older: superseded by the next
        db.add(reference(SONNET, "full", ANCHOR, 0.65))
        db.add(reference(HAIKU, "full", {d: 4.0 for d in ANCHOR}, 0.55))
        db.add(reference(HAIKU, "dev", {d: 1.0 for d in ANCHOR}, 0.10))  # another gate: not the rubric's
    return url, dev_best.number, invalid.number


def expected_levers(url: str, ruler: str) -> dict[str, tuple]:
    with session_scope(url) as db:
        exps = list(db.scalars(select(Experiment).where(Experiment.ruler_id == ruler)))
    out = {}
    for e in exps:
        cls = "baseline" if e.agent == "baseline" else e.lever
        out.setdefault(cls, []).append(e)
    table = {}
    for cls, mine in out.items():
        valid = [e for e in mine if e.status in ("kept", "discarded")]
        best = max(valid, key=lambda e: (e.quality, e.number)) if valid else None
        table[cls] = (len(mine), sum(e.status == "kept" for e in mine), *((best.number, best.quality,
                      best.dims["coverage"], best.gate) if best else (None,) * 4))
    return table


def test_lever_classes_from_the_record(record, project_copy):
    url, dev_best, invalid = record
    shown = cli(url, project_copy, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["ruler_id"] == RULER_NEW  # the dashboard's default: the newest ruler
    got = {r["lever"]: (r["runs"], r["kept"], r["best_experiment"], r["best_quality"], r["coverage"], r["gate"])
           for r in report["levers"]}
    assert got == expected_levers(url, RULER_NEW)
    assert [r["lever"] for r in report["levers"]][0] == "baseline" and got["baseline"][0] == 1
    assert got["inference"][2:] == (dev_best, 0.97, got["inference"][4], "dev")  # best measured on the dev gate
    assert invalid not in {row[2] for row in got.values()}  # an invalid run is never a best
    old = json.loads(cli(url, project_copy, "--ruler", RULER_OLD[:10], "--json").stdout)
    assert old["ruler_id"] == RULER_OLD
    assert {r["lever"]: (r["runs"], r["kept"], r["best_experiment"], r["best_quality"], r["coverage"], r["gate"])
            for r in old["levers"]} == expected_levers(url, RULER_OLD)


def test_rubric_scored_as_candidate_sets_the_on_device_best_beside_the_cloud_anchors(record, project_copy):
    url, _, _ = record
    report = json.loads(cli(url, project_copy, "--json").stdout)
    with session_scope(url) as db:
        best = db.scalars(select(Evaluation).join(Experiment, Experiment.number == Evaluation.experiment_number)
                          .where(Experiment.status == "kept", Evaluation.kind == "official", Evaluation.gate == "full",
                                 Evaluation.ruler_id == RULER_NEW).order_by(Evaluation.quality.desc())).first()
        best_number, best_dims, best_quality = best.experiment_number, best.dims, best.quality
    rubric = report["rubric"]
    assert [(r["label"], r["where"]) for r in rubric] == [
        (f"on-device best (experiment {best_number:04d})", "on-device"), (f"{HAIKU} (cloud anchor)", "cloud"),
        (f"{SONNET} (cloud anchor)", "cloud")]
    assert rubric[0]["dims"] == best_dims and rubric[0]["quality"] == best_quality
    assert rubric[2]["dims"] == ANCHOR and rubric[2]["quality"] == 0.65  # the newest Sonnet reference
    assert rubric[1]["dims"] == {d: 4.0 for d in ANCHOR}  # the full-gate Haiku, not its dev-gate run


def test_the_tables_read_like_the_seeds(record, project_copy):
    url, _, _ = record
    shown = cli(url, project_copy)
    assert shown.returncode == 0, shown.stderr
    for text in ("lever class", "runs", "best quality", "coverage", "gate", "stock baseline", "SFT adapters",
                 "scored as candidate", "atomicity", "non_redundancy", f"{SONNET} (cloud anchor)"):
        assert text in shown.stdout, text


def test_bad_input_is_one_clear_error(record, project_copy, tmp_path):
    url, _, _ = record
    shown = cli(url, project_copy, "--ruler", "zzz")
    assert shown.returncode == 2 and "--ruler 'zzz': no ruler starts with it" in shown.stderr, shown.stderr
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    from loop.db.session import upgrade

    upgrade(empty)
    shown = cli(empty, project_copy)
    assert shown.returncode == 2 and "no experiment has been scored yet" in shown.stderr, shown.stderr
    assert shown.stderr.count("error:") == 1
