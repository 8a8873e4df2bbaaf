"""Agreement per rubric dimension and for the verdict between any two raters, on real stored labels:
candidates and two judges' judgements stored in a record on real ruler cases, labels made through the
dashboard's /label page, then the real `judge agree` command (--stored, and --b human re-judging) and the
dashboard's judges-vs-people table. The expected kappas are worked by hand in the comments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from loop.config import load_config
from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from loop.db.models import CaseResult, Evaluation
from loop.db.session import session_scope, upgrade
from loop.eval_record import ensure_ruler
from loop.judges.proxy_v2 import ProxyV2Judge
from loop.judges.rater_agreement import RUBRIC, pair_measures, Rating
from loop.ruler_files import gate_cases
from loop.ruler_lock import write_lock
from loop.schemas import Answer
from tests.support.judge_ladders import GENERIC
from ruler.scoring import MODE_DIMENSIONS

from .labelling import label_through_dashboard

# Four stored candidates: the golds of cases 0 and 1, a generic set on cases 2 and 3.
# judge-x verdicts  tie  tie  gold gold       coverage 5 5 2 1
# judge-y verdicts  tie  gold gold candidate  coverage 5 4 2 2
# people            tie  tie  gold candidate  coverage - - 2 3   (only the generic sets scored)
X = (("tie", 5), ("tie", 5), ("gold", 2), ("gold", 1))
Y = (("tie", 5), ("gold", 4), ("gold", 2), ("candidate", 2))
PEOPLE = (("tie", {}), ("tie", {}), ("gold", {"coverage": 2}), ("candidate", {"coverage": 3}))


@pytest.fixture
def labelled(project_copy, tmp_path, monkeypatch):
    monkeypatch.delenv("AUTORESEARCH_JUDGE", raising=False)
    write_lock(project_copy / "ruler")
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", judge="proxy")
    upgrade(config)
    cases, other = gate_cases(config.ruler_dir, "full")[:4], gate_cases(config.ruler_dir, "full")[4]
    generic = Answer(title="Plan", questions=GENERIC).model_dump()
    sets = [cases[0].gold.model_dump(), cases[1].gold.model_dump(), generic, generic]
    with session_scope(config) as db:
        ensure_ruler(db, config, "r" * 64, "judge-x")
        for judge_id, findings in (("judge-x", X), ("judge-y", Y)):
            ev = Evaluation(kind="official", gate="dev", ruler_id="r" * 64, judge_id=judge_id, workspace_hash="w")
            for case, candidate, (verdict, coverage) in zip(cases, sets, findings):
                ev.cases.append(CaseResult(case_id=case.id, task=case.task, candidate=candidate, verdict=verdict,
                                           atomicity=4, specificity=3, coverage=coverage, naturalness=4,
                                           non_redundancy=5))
            ev.cases.append(CaseResult(case_id=other.id, task="x", candidate=generic, invalid_reason="6 questions",
                                       verdict="gold", atomicity=1, specificity=1, coverage=1, naturalness=1,
                                       non_redundancy=1))  # an invalid candidate: never a judge's rating
            db.add(ev)
    with BackgroundServer(create_app(config.db_url, config.ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"),
                                     supervisor="ada")) as server:
        order = label_through_dashboard(server.url, {c.id: p for c, p in zip(cases, PEOPLE)},
                                        {c.id: c.gold.title for c in cases})
        with urllib.request.urlopen(server.url + "/label") as reply:
            page = reply.read().decode()
    assert sorted(order) == sorted(c.id for c in cases)
    return config, cases, sets, page


def run(config, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": config.db_url}
    env.pop("ANTHROPIC_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "loop.cli", "judge", "agree", "--repo", str(config.repo), *args],
                          capture_output=True, text=True, timeout=300, env=env)


def by_measure(pair: dict) -> dict[str, dict]:
    return {m["measure"]: m for m in pair["measures"]}


def test_the_rubric_dimensions_are_the_rulers():
    assert RUBRIC == MODE_DIMENSIONS["standard"]


def test_stored_agreement_of_every_rater_pair_per_dimension(labelled):
    config, *_ = labelled
    done = run(config, "--stored", "--json")
    assert done.returncode == 0, done.stderr
    pairs = {(p["rater_a"], p["rater_b"]): p for p in json.loads(done.stdout)}
    assert set(pairs) == {("judge-x", "judge-y"), ("judge-x", "human"), ("judge-y", "human")}
    # x vs people, verdict: p_o = 3/4; x = t2 g2, people = t2 g1 c1 -> p_e = (2*2 + 2*1)/16 = 0.375;
    # kappa = (0.75 - 0.375) / 0.625 = 0.6
    xh = by_measure(pairs[("judge-x", "human")])
    assert xh["verdict"]["n"] == 4 and xh["verdict"]["raw"] == pytest.approx(0.75)
    assert xh["verdict"]["kappa"] == pytest.approx(0.6)
    # x vs people, coverage (scored on two sets): (2, 2) and (1, 3); quadratic weights ((i-j)/4)^2:
    # observed 0.25/2 = 0.125; expected (1/16 + 1/4 + 0 + 1/16)/4 = 0.09375; kappa = 1 - 0.125/0.09375 = -1/3
    assert xh["coverage"]["n"] == 2 and xh["coverage"]["raw"] == pytest.approx(0.5)
    assert xh["coverage"]["kappa"] == pytest.approx(-1 / 3) and xh["coverage"]["weights"] == "quadratic"
    assert set(xh) == {"verdict", "coverage"}  # the people scored no other dimension
    # x vs y, verdict: p_o = 2/4; x = t2 g2, y = t1 g2 c1 -> p_e = (2*1 + 2*2)/16 = 0.375; kappa = 0.2
    xy = by_measure(pairs[("judge-x", "judge-y")])
    assert xy["verdict"]["n"] == 4 and xy["verdict"]["raw"] == pytest.approx(0.5)
    assert xy["verdict"]["kappa"] == pytest.approx(0.2)
    assert list(xy) == ["verdict", *RUBRIC]
    assert xy["atomicity"]["raw"] == 1.0 and xy["atomicity"]["kappa"] is None  # one category on both sides
    yh = by_measure(pairs[("judge-y", "human")])
    assert yh["verdict"]["raw"] == pytest.approx(0.75)  # t/t, g/t, g/g, c/c


def test_the_dashboard_table_shows_each_judge_per_dimension(labelled):
    *_, page = labelled
    assert page.count('class="judge"') == 2  # judge-x and judge-y, one verdict row each
    assert 'data-judge="judge-x" data-measure="coverage"' in page
    assert 'data-judge="judge-x" data-measure="specificity"' not in page
    row = page.split('data-judge="judge-x" data-measure="verdict"')[1].split("</tr>")[0]
    assert "75.0%" in row and "0.600" in row


def test_a_judge_rejudges_the_labelled_candidates_against_the_people(labelled):
    config, cases, sets, _ = labelled
    done = run(config, "--a", "proxy", "--b", "human", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["judge_a"].startswith("proxy:minilm-l6-int8/2+") and report["judge_b"] == "human"
    assert report["candidates"] == 4 and report["errors"] == 0  # one generic set on two cases: two candidates
    judge = ProxyV2Judge()
    mine = {}
    for case, candidate in zip(cases, sets):
        j = judge.judge(case, Answer.model_validate(candidate))
        mine[case.id] = [Rating(verdict=j.verdict, dims=j.dims.model_dump())]
    people = {c.id: [Rating(verdict=v, dims=d)] for c, (v, d) in zip(cases, PEOPLE)}
    expected = {m.measure: m for m in pair_measures(mine, people, samples=1000)}
    got = by_measure(report)
    assert set(got) == {"verdict", "coverage"}
    for name in got:
        assert got[name]["n"] == expected[name].n and got[name]["raw"] == pytest.approx(expected[name].raw)
        assert got[name]["kappa"] == pytest.approx(expected[name].kappa)
    # proxy v2 finds the generic set worse than gold on both cases; the people said so on case 2 only
    assert [mine[c.id][0].verdict for c in cases[2:]] == ["gold", "gold"]
    same = sum(mine[c.id][0].verdict == v for c, (v, _) in zip(cases, PEOPLE))
    assert got["verdict"]["raw"] == pytest.approx(same / 4)


def test_bad_rater_arguments_are_refused(labelled):
    config, *_ = labelled
    bad = run(config, "--a", "proxy", "--b", "people")
    assert bad.returncode == 2 and "--b 'people' is not a judge" in bad.stderr
    both = run(config, "--stored", "--a", "proxy")
    assert both.returncode == 2 and "--stored compares every rater" in both.stderr
    none = run(config)
    assert none.returncode == 2 and "--a and --b" in none.stderr
