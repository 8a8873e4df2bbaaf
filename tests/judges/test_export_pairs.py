"""`judge export-pairs`: people's labels on training-pool drafts and drafts the judge finds better than the
pool's gold become preference pairs in the row shape of `train data pref`, rendered by the shipped
pipeline; ruler labels never leave the record and a near-copy of holdout gold is refused by name (the
guard's own check); a dry run writes nothing. Through the real command on a real record."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from loop.config import load_config
from loop.db.models import HumanLabel
from loop.db.session import session_scope, upgrade
from loop.judges.human import candidate_hash
from loop.judges.pairs import PreferencePair
from loop.ruler_files import load_cases
from loop.ruler_lock import write_lock
from loop.schemas import Answer
from tests.support.judge_ladders import GENERIC
from loop.training.render import sha256_text

# A pool task of our own whose "gold" is weak (generic): a good draft for it beats it.
WEAK = {"id": "p-weak", "domain": "home", "task": "Repaint the spare bedroom before the baby arrives",
        "gold": {"title": "Plan", "questions": GENERIC}}
GOOD = Answer(title="Repainting the Spare Bedroom", questions=[
    "When is the baby due, so the paint has time to air out?",
    "Which colour or mood do you want the nursery to have?",
    "Do the walls have cracks or old wallpaper to deal with first?",
    "Would you do the painting yourself or hire a painter?",
    "Do you want low-VOC or zero-VOC paint for the baby's room?",
    "Does the ceiling or the trim need repainting too?",
    "How much would you like to spend on paint and supplies?"])
GENERIC_SET = Answer(title="Plan", questions=GENERIC)


@pytest.fixture
def pool_config(project_copy, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_JUDGE"):
        monkeypatch.delenv(name, raising=False)
    write_lock(project_copy / "ruler")
    pool_path = project_copy / "agent_workspace" / "data" / "train.jsonl"
    pool_path.write_text(json.dumps(WEAK) + "\n" + pool_path.read_text())
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", judge="proxy")
    upgrade(config)
    pool = {c.id: c for c in load_cases(pool_path)}
    holdout = load_cases(config.ruler_dir / "holdout.jsonl")
    ruler = load_cases(config.ruler_dir / "tasks.jsonl")
    labels = [  # (case, candidate, source, verdict, author)
        ("t001", GENERIC_SET, "pool", "gold", "ada"),  # gold chosen
        ("p-weak", GOOD, "pool", "candidate", "ada"),  # the draft chosen
        ("t002", GENERIC_SET, "pool", "tie", "bob"),  # no preference
        ("t003", holdout[0].gold, "pool", "candidate", "bob"),  # a copy of holdout gold: refused
        (ruler[0].id, GENERIC_SET, "ruler", "gold", "ada"),  # calibration only: refused
    ]
    with session_scope(config) as db:
        for case_id, candidate, source, verdict, author in labels:
            db.add(HumanLabel(case_id=case_id, candidate=candidate.model_dump(),
                              candidate_hash=candidate_hash(case_id, candidate.model_dump()), source=source,
                              shown_first="candidate", pick={"candidate": "A", "gold": "B", "tie": "tie"}[verdict],
                              verdict=verdict, author=author))
    return config, pool, holdout


def run(config, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": config.db_url}
    return subprocess.run([sys.executable, "-m", "loop.cli", "judge", "export-pairs", "--repo", str(config.repo),
                           *args], capture_output=True, text=True, timeout=600, env=env)


def test_labels_and_judge_disagreements_become_pref_rows(pool_config, tmp_path):
    config, pool, holdout = pool_config
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text("".join(json.dumps(d) + "\n" for d in [
        {"id": "p-weak", "answer": GOOD.model_dump()},  # better than its weak gold: a judge pair
        {"id": "t004", "answer": GENERIC_SET.model_dump()},  # worse than gold: the default pair covers it
        {"id": "nope", "answer": GOOD.model_dump()},  # not a pool task
    ]))
    out = tmp_path / "pairs.jsonl"
    done = run(config, "--out", str(out), "--drafts", str(drafts), "--judge", "proxy", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["human"], report["judge"], report["ties"], report["written"]) == (2, 1, 1, 3)
    assert (report["drafts_judged"], report["drafts_not_better"], report["drafts_judge_errors"]) == (2, 1, 0)
    refused = {r["id"]: r["reason"] for r in report["refused"]}
    assert set(refused) == {"t003/human/4", f"{load_cases(config.ruler_dir / 'tasks.jsonl')[0].id}/human/5",
                            "nope/judge"}
    assert "gold" in refused["t003/human/4"] and holdout[0].id in refused["t003/human/4"]
    assert "calibration only" in refused[next(k for k in refused if k.endswith("/human/5"))]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"t001/human/1", "p-weak/human/2", "p-weak/judge/0"}
    system = (config.workspace_dir / "prompts" / "system.md").read_text().strip()
    for row in rows:
        PreferencePair.model_validate(row)
        # the keys of a `train data pref` row, plus source and labeller
        assert set(row) == {"id", "task", "prompt", "prompt_sha256", "instructions_sha256", "chosen", "rejected",
                            "source", "labeller"}
        assert row["prompt"][0] == {"role": "system", "content": system}
        user = row["prompt"][1]["content"]
        assert row["task"] in user and row["prompt_sha256"] == sha256_text(user)
    assert json.loads(by_id["t001/human/1"]["chosen"])["questions"] == pool["t001"].gold.questions
    assert json.loads(by_id["t001/human/1"]["rejected"])["questions"] == GENERIC
    assert json.loads(by_id["p-weak/human/2"]["chosen"])["questions"] == GOOD.questions
    assert by_id["p-weak/human/2"]["labeller"] == "ada" and by_id["p-weak/human/2"]["source"] == "human"
    judged = by_id["p-weak/judge/0"]
    assert judged["source"] == "judge" and judged["labeller"].startswith("proxy:minilm-l6-int8/2+")
    assert json.loads(judged["chosen"])["questions"] == GOOD.questions
    assert json.loads(judged["rejected"])["questions"] == GENERIC


def test_dry_run_writes_nothing_and_bad_input_is_refused(pool_config, tmp_path):
    config, *_ = pool_config
    out = tmp_path / "pairs.jsonl"
    dry = run(config, "--out", str(out), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] and report["written"] == 0 and report["human"] == 2 and not out.exists()
    told = run(config, "--out", str(out), "--dry-run")
    assert told.returncode == 0 and "would write 2 pair(s) (2 human, 0 judge)" in told.stdout, told.stderr
    assert "refused t003/human/4: its answer" in told.stdout and not out.exists()
    bad_judge = run(config, "--out", str(out), "--drafts", str(out), "--judge", "oracle")
    assert bad_judge.returncode == 2 and "--judge 'oracle' is not a judge" in bad_judge.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "t001", "answer": \n')
    bad_file = run(config, "--out", str(out), "--drafts", str(broken))
    assert bad_file.returncode == 2 and "broken.jsonl" in bad_file.stderr and "not a drafts file" in bad_file.stderr
    assert not out.exists()
