"""Judge agreement (kappa against hand-checked examples, the `judge agree` command on stored
candidates) and the position-flip rate: recorded per evaluation for LLM judges, shown on the dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from sqlalchemy import select

from loop.config import load_config
from loop.db.models import CaseResult, Evaluation, Experiment
from loop.db.session import session_scope, upgrade
from loop.eval_record import ensure_ruler
from loop.judges.agreement import agree, cohen_kappa, flip_rate, measure, parse_numbers
from loop.ruler_files import gate_cases
from loop.ruler_lock import write_lock
from loop.schemas import Answer, CaseJudgement, CaseOutcome, DimScores
from tests.support.judge_ladders import GENERIC


def test_unweighted_kappa_matches_the_hand_worked_example():
    # 50 items: both "candidate" 20, A candidate/B gold 5, A gold/B candidate 10, both gold 15.
    # p_o = 35/50 = 0.70; p_e = 0.5*0.6 + 0.5*0.4 = 0.50; kappa = (0.70-0.50)/(1-0.50) = 0.40
    a = ["candidate"] * 25 + ["gold"] * 25
    b = ["candidate"] * 20 + ["gold"] * 5 + ["candidate"] * 10 + ["gold"] * 15
    assert cohen_kappa(a, b, ("candidate", "tie", "gold")) == pytest.approx(0.40)


def test_quadratic_kappa_matches_the_hand_worked_example():
    # a = 1,3,5,5  b = 2,3,4,5 on 1..5, w = ((i-j)/4)^2: observed 2/16/4 = 0.03125, expected 64/16/16 = 0.25
    assert cohen_kappa([1, 3, 5, 5], [2, 3, 4, 5], (1, 2, 3, 4, 5), "quadratic") == pytest.approx(0.875)
    assert cohen_kappa([1, 3, 5, 5], [2, 3, 4, 5], (1, 2, 3, 4, 5)) == pytest.approx(1 - (2 / 4) / (1 - 3 / 16 - 0))


def test_kappa_is_undefined_when_both_raters_use_one_category_and_raw_agreement_still_shows():
    ratings = ["gold"] * 10
    assert cohen_kappa(ratings, ratings, ("candidate", "tie", "gold")) is None
    m = measure("verdict", ratings, ratings, ("candidate", "tie", "gold"), "unweighted", samples=50)
    assert m.raw == 1.0 and m.kappa is None and m.low is None


def test_bootstrap_interval_contains_kappa_and_is_reproducible():
    a = ["candidate"] * 25 + ["gold"] * 25
    b = ["candidate"] * 20 + ["gold"] * 5 + ["candidate"] * 10 + ["gold"] * 15
    first = measure("verdict", a, b, ("candidate", "tie", "gold"), "unweighted", samples=400)
    assert first.low < first.kappa < first.high and first.high - first.low < 0.8
    assert measure("verdict", a, b, ("candidate", "tie", "gold"), "unweighted", samples=400) == first
    assert first.raw == pytest.approx(0.70)


def test_parse_numbers():
    assert parse_numbers("3,5,7-9") == [3, 5, 7, 8, 9]


def judged(first: str, second: str, invalid: str | None = None) -> CaseOutcome:
    j = CaseJudgement(dims=DimScores.floor(), verdict_candidate_first=first, verdict_gold_first=second,
                      verdict=first if first == second else "tie", judge_calls=2)
    return CaseOutcome(case_id="c", task="t", candidate=None, invalid_reason=invalid, judgement=j)


def test_flip_rate_counts_only_cases_judged_in_both_orders():
    outcomes = [judged("gold", "gold"), judged("candidate", "gold"), judged("tie", "gold"), judged("gold", "gold"),
                judged("gold", "gold", invalid="6 questions")]
    assert flip_rate(outcomes) == pytest.approx(2 / 4)
    assert flip_rate([judged("gold", "gold", invalid="x")]) is None


@pytest.fixture
def stored(project_copy, tmp_path, monkeypatch):
    """A record with two evaluations of stored candidates on real ruler cases (one duplicate candidate)."""
    monkeypatch.delenv("AUTORESEARCH_JUDGE", raising=False)
    write_lock(project_copy / "ruler")
    config = load_config(project_copy, database_url=f"sqlite:///{tmp_path / 'record.sqlite'}", judge="proxy")
    upgrade(config)
    cases = gate_cases(config.ruler_dir, "full")[:4]
    generic = Answer(title="Plan", questions=GENERIC).model_dump()
    with session_scope(config) as db:
        ensure_ruler(db, config, "r" * 64, "proxy:test")
        db.add(Experiment(number=1, status="kept"))
        db.add(Experiment(number=2, status="discarded"))
        for number, sets in ((1, [c.gold.model_dump() for c in cases]), (2, [generic] * 3 + [cases[3].gold.model_dump()])):
            ev = Evaluation(experiment_number=number, kind="official", gate="dev", ruler_id="r" * 64,
                            judge_id="proxy:test", workspace_hash="w")
            for case, candidate in zip(cases, sets):
                ev.cases.append(CaseResult(case_id=case.id, task=case.task, candidate=candidate))
            ev.cases.append(CaseResult(case_id="r30", task="x", candidate=None, invalid_reason="6 questions"))
            db.add(ev)
    return config


def test_agree_rejudges_distinct_stored_candidates_with_both_judges(stored):
    report = agree(stored, "proxy", "proxy-v1")
    assert report.candidates == 7  # 4 golds + 3 generic sets; the repeated gold of case 4 counted once
    assert report.judge_a.startswith("proxy:minilm-l6-int8/2+") and report.judge_b.startswith("proxy:minilm-l6-int8/1+")
    assert [m.measure for m in report.measures] == ["verdict", "atomicity", "specificity", "coverage",
                                                    "naturalness", "non_redundancy"]
    assert all(m.n == 7 and 0 <= m.raw <= 1 for m in report.measures)
    assert report.measures[0].weights == "unweighted" and report.measures[1].weights == "quadratic"
    only_first = agree(stored, "proxy", "proxy", experiments=[1])
    assert only_first.candidates == 4
    assert only_first.measures[0].raw == 1.0  # a judge agrees with itself


def test_agree_command_json_and_bad_judge(stored):
    env = {**os.environ, "DATABASE_URL": stored.db_url}
    env.pop("ANTHROPIC_API_KEY", None)
    base = [sys.executable, "-m", "loop.cli", "judge", "agree", "--repo", str(stored.repo)]
    result = subprocess.run(base + ["--a", "proxy", "--b", "proxy-v1", "--experiments", "2", "--json"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["candidates"] == 4 and {m["measure"] for m in out["measures"]} >= {"verdict", "coverage"}
    assert all({"raw", "kappa", "low", "high"} <= set(m) for m in out["measures"])
    bad = subprocess.run(base + ["--a", "oracle", "--b", "proxy"], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "--a 'oracle' is not a judge" in bad.stderr


class FlippingJudge:
    """An LLM-like judge (judge id "local:...") whose two orders disagree on every other case."""

    judge_id = "local:scripted@000000000000"
    mode = "standard"

    def __init__(self):
        self.n = 0

    def judge(self, case, candidate):
        self.n += 1
        second = "candidate" if self.n % 2 else "gold"
        return CaseJudgement(dims=DimScores.floor(), verdict_candidate_first="gold", verdict_gold_first=second,
                             verdict="gold" if second == "gold" else "tie", judge_calls=2)


def test_flip_rate_is_recorded_for_llm_judges_and_shown_on_the_experiment_page(stored, tmp_path):
    from loop.dashboard.app import create_app
    from loop.dashboard.server import BackgroundServer, allowed_hosts
    from loop.evaluate import evaluate

    config = stored.model_copy(update={"runner": "replay", "judge_concurrency": 1})
    llm = evaluate(config, "dev", judge=FlippingJudge(), progress=False, experiment_number=1, use_cache=False)
    proxy = evaluate(config, "dev", progress=False, experiment_number=1, use_cache=False)
    with session_scope(config) as db:
        rates = dict(db.execute(select(Evaluation.id, Evaluation.position_flip_rate)).all())
    assert rates[llm.evaluation_id] == pytest.approx(0.5)  # 10 dev cases, 5 flipped
    assert rates[proxy.evaluation_id] is None  # the symmetric proxy has no position term
    server = BackgroundServer(create_app(config.db_url, config.ruler_dir,
                                         allowed_hosts=allowed_hosts("127.0.0.1"))).start()
    try:
        with urllib.request.urlopen(server.url + f"/experiments/1?evaluation={llm.evaluation_id}", timeout=30) as r:
            page = r.read().decode()
    finally:
        server.stop()
    assert "position flips 50%" in page
    assert page.count("position flips") == 1
