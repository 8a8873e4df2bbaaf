"""`autoresearch analyze rejudge`: stored candidates judged again (no regeneration) coverage-blind beside a
five-dimension control, on the record the real daemon wrote. Under the deterministic proxy the control
reproduces the logged quality exactly; the rounds carry their own ruler ids and never enter the official
record; experiments from another ruler are refused with one clear error and nothing changes."""

from __future__ import annotations

import json
import sqlite3

from loop.analysis.rejudge_record import stored_rejudge_table
from loop.config import load_config
from loop.schemas import CaseJudgement, DimScores
from ruler.scoring import summarize

from .conftest import cli, rows

OFFICIAL = "select id, experiment_number, kind, gate, quality, wins, ties, losses from evaluations order by id"
EXPERIMENTS = "select number, status, quality, gate, ruler_id, wins, ties, losses from experiments order by number"
DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


def stored_summary(repo, evaluation_id: int, mode: str):
    """The ruler's own summary of a recorded evaluation's case rows."""
    judgements = [CaseJudgement(dims=DimScores(**dict(zip(DIMS, r[:5]))), verdict_candidate_first=r[5],
                                verdict_gold_first=r[6], verdict=r[7])
                  for r in rows(repo, f"select {', '.join(DIMS)}, verdict_candidate_first, verdict_gold_first, verdict "
                                      f"from case_results where evaluation_id = {evaluation_id}")]
    return summarize(judgements, mode=mode)


def test_the_control_reproduces_exactly_and_the_rounds_stay_out_of_the_official_record(repo):
    experiments, evaluations = rows(repo, EXPERIMENTS), rows(repo, OFFICIAL)
    shown = cli(repo, "analyze", "rejudge", "--mode", "coverage-blind", "--experiments", "0,1", "--json")
    assert shown.returncode == 0, shown.stderr
    table = json.loads(shown.stdout)
    logged = {n: q for n, _, q, *_ in experiments}
    assert [r["experiment"] for r in table["rows"]] == [0, 1]
    for row in table["rows"]:
        check = row["control"]
        assert check["exact"] and check["reproduced"] and check["noise_floor"] == 0.0
        assert row["quality_standard"] == check["logged_quality"] == logged[row["experiment"]]
        assert row["cases"] == 30 and row["gate"] == "full"
        assert row["delta"] == row["quality_mode"] - row["quality_standard"]
        # each round's figures are the ruler's summary of what it recorded, in its own mode
        for key, mode, quality, losses in (("control_evaluation_id", "standard", "quality_standard", "losses_before"),
                                           ("mode_evaluation_id", "coverage-blind", "quality_mode", "losses_after")):
            summary = stored_summary(repo, row[key], mode)
            assert (summary.quality, summary.losses) == (row[quality], row[losses])
    assert [r["control"]["floor_source"] for r in table["rows"]] == ["stored", "ruler"]  # 0's own floor; 1 has none
    assert table["mode_ruler_id"] != table["ruler_id"] and table["mode_judge_id"] == table["judge_id"] + ":coverage-blind"
    # nothing official changed; the new rounds are `rejudge` evaluations with no experiment, each under its ruler
    assert rows(repo, EXPERIMENTS) == experiments
    assert rows(repo, OFFICIAL)[:len(evaluations)] == evaluations
    added = rows(repo, f"select kind, experiment_number, subject_experiment, ruler_id from evaluations "
                       f"where id > {evaluations[-1][0]} order by id")
    rid, mode_rid = table["ruler_id"], table["mode_ruler_id"]
    assert added == [("rejudge", None, 0, rid), ("rejudge", None, 0, mode_rid), ("rejudge", None, 1, rid),
                     ("rejudge", None, 1, mode_rid)]
    assert rows(repo, f"select judge_mode from rulers where id = '{mode_rid}'") == [("coverage-blind",)]
    assert rows(repo, "select count(*) from experiments")[0][0] == 2
    # what a reader that judges nothing (the report) gets back from the record is the same table
    config = load_config(repo, database_url=f"sqlite:///{repo.parent / 'record.sqlite'}", judge="proxy")
    assert stored_rejudge_table(config, rid).model_dump(mode="json") == table


def test_the_table_says_the_control_reproduces(repo):
    shown = cli(repo, "analyze", "rejudge", "--experiments", "0")
    assert shown.returncode == 0, shown.stderr
    out = " ".join(shown.stdout.split())
    assert "The five-dimension control reproduces the logged quality exactly" in out
    for header in ("quality, 5-dim", "quality, coverage-blind", "Δ", "loses to gold", "→"):
        assert header in shown.stdout
    assert "rejudge: experiment 0000 (1 of 1)" in shown.stderr


def test_a_control_that_does_not_reproduce_says_so(repo):
    with sqlite3.connect(repo.parent / "record.sqlite") as conn:  # the logged figure no longer matches the answers
        conn.execute("update evaluations set quality = quality + 0.1 where experiment_number = 1 and kind = 'official' "
                     "and gate = 'full'")
    shown = cli(repo, "analyze", "rejudge", "--experiments", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    check = json.loads(shown.stdout)["rows"][0]["control"]
    assert not check["reproduced"] and not check["exact"]
    assert abs(check["difference"] + 0.1) < 1e-9
    text = cli(repo, "analyze", "rejudge", "--experiments", "1")
    assert "does NOT reproduce the logged quality for experiment 0001" in " ".join(text.stdout.split())


def test_experiments_from_another_ruler_are_refused_and_nothing_changes(repo):
    before = rows(repo, "select count(*) from evaluations"), rows(repo, "select id from rulers order by id")
    shown = cli(repo, "analyze", "rejudge", "--experiments", "0,1", "--judge", "proxy-v1")
    assert shown.returncode == 2, shown.stdout
    err = " ".join(shown.stderr.split())
    assert shown.stderr.count("error:") == 1, shown.stderr
    assert "experiment 0 was scored under ruler" in err and "experiment 1 was scored under ruler" in err
    assert "of judge proxy:minilm-l6-int8/1+" in err and "nothing was judged" in err
    assert (rows(repo, "select count(*) from evaluations"), rows(repo, "select id from rulers order by id")) == before
    config = load_config(repo, database_url=f"sqlite:///{repo.parent / 'record.sqlite'}", judge="proxy")
    assert stored_rejudge_table(config, rows(repo, "select ruler_id from experiments where number = 0")[0][0]) is None


def test_unknown_experiments_and_modes_are_refused(repo):
    before = rows(repo, "select count(*) from evaluations")
    for args, message in ((("--experiments", "0,7"), "experiment 7 does not exist"),
                          (("--experiments", "0", "--mode", "standard"), "--mode 'standard': not a judge mode"),
                          (("--experiments", "x"), "'x' is not a number")):
        shown = cli(repo, "analyze", "rejudge", *args)
        assert shown.returncode == 2, shown.stdout
        assert message in " ".join(shown.stderr.split()) and shown.stderr.count("error:") == 1, shown.stderr
    assert rows(repo, "select count(*) from evaluations") == before
