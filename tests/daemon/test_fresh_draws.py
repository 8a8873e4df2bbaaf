"""Decisions on fresh draws, against the scripted Anthropic-compatible server as the official judge.

The pipeline is a fake session (deterministic answers: `BASE: <task>` for the stock workspace,
`VARIANT: <task>` once the agent dropped `variant.txt` into it), so every judging difference comes
from the judge's draws, which the scripted server decides:

- `first_draw_lucky`: the FIRST time it judges a variant answer (per case and prompt) it is generous
  (score 1.0), every later draw is fair (0.5, the same as the stock answers): a noisy judge whose luck
  does not repeat;
- `better_but_overfit`: variants are genuinely better on the 30 ruler cases (always 1.0) and worse on
  the sealed holdout (0.0).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.db.models import CaseResult, Evaluation
from loop.db.session import session_scope
from loop.ruler_files import load_cases
from tests.support.variant_fakes import VariantAgent, VariantSession
from tests.support.anthropic_server import ScriptedAnthropicServer, text_reply

TITLE = re.compile(r"Title: (VARIANT|BASE): (.+)")



class ScriptedJudge:
    """The handler of the scripted server: rubric and verdict replies by a `grade(kind, task, draw)` rule."""

    def __init__(self, grade):
        self.grade, self.draws, self.lock = grade, Counter(), threading.Lock()

    def __call__(self, body: dict):
        user = body["messages"][0]["content"]
        rubric = "dims" in json.dumps(body["output_config"]["format"]["schema"])
        found = TITLE.search(user)
        kind, task = (found.group(1), found.group(2).strip()) if found else ("BASE", "?")
        with self.lock:
            self.draws[(rubric, kind, task)] += 1
            draw = self.draws[(rubric, kind, task)]
        level = self.grade(kind, task, draw)  # "good" | "fair" | "bad"
        dims = {"good": 5, "fair": 3, "bad": 1}[level]
        # rubric: set A is the candidate; verdict-only: set A is the gold
        pick = {"good": "A" if rubric else "B", "fair": "tie", "bad": "B" if rubric else "A"}[level]
        reply = {"reasoning": "scripted", "verdict": pick}
        if rubric:
            reply.update(dims=dict.fromkeys(("atomicity", "specificity", "coverage", "naturalness",
                                             "non_redundancy"), dims), failure_notes="scripted notes")
        return text_reply(json.dumps(reply))


def first_draw_lucky(kind, task, draw):
    return "good" if kind == "VARIANT" and draw == 1 else "fair"



def run_night(repo: Path, h, grade, agent, **config):
    with ScriptedAnthropicServer(ScriptedJudge(grade)) as server:
        cfg = h.config_for(repo, judge="anthropic", anthropic_base_url=server.base_url, judge_concurrency=4,
                           judge_max_retries=0, **config)
        resources = Resources(cfg, session_factory=VariantSession)
        Daemon(cfg, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=agent,
               resources=resources).run()
    return cfg


def evaluations(config, number: int) -> list[Evaluation]:
    with session_scope(config) as db:
        return list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == number)
                               .order_by(Evaluation.id)))


def verdicts(config, evaluation_id: int) -> dict[str, str]:
    with session_scope(config) as db:
        return {r.case_id: r.verdict for r in db.scalars(select(CaseResult).where(
            CaseResult.evaluation_id == evaluation_id))}


def test_verdicts_made_while_the_agent_worked_are_never_reused_by_the_decision(research_repo, h):
    agent = VariantAgent(evaluate_gate="full")
    config = run_night(research_repo, h, first_draw_lucky, agent)
    assert agent.seen["quality"] == 1.0  # the agent's own (lucky) draws
    evals = evaluations(config, 1)
    mine = [e for e in evals if e.kind == "agent"]
    official = [e for e in evals if e.kind == "official"]
    assert len(mine) == 1 and mine[0].quality == 1.0
    assert [e.gate for e in official] == ["dev", "full"]
    agent_verdicts = verdicts(config, mine[0].id)
    for ev in official:
        assert ev.quality == pytest.approx(0.5) and ev.judge_calls > 0
        got = verdicts(config, ev.id)
        assert got and all(got[c] == "tie" and agent_verdicts[c] == "candidate" for c in got)
    row = h.rows(config)[1]
    assert row.status == "discarded" and "not beyond the noise" in row.reason
    assert row.decision["first"]["keep"] is False and row.decision["confirm"] is None
    assert row.holdout_quality is None  # only new bests meet the holdout


def test_the_confirmation_round_rejects_a_lucky_first_round(research_repo, h):
    config = run_night(research_repo, h, first_draw_lucky, VariantAgent())
    row = h.rows(config)[1]
    assert row.status == "discarded", row.reason
    assert row.reason.startswith("not confirmed on fresh draws")
    first, confirm = row.decision["first"], row.decision["confirm"]
    assert first["keep"] is True and first["delta"] == pytest.approx(0.5)  # the lucky round
    assert confirm["keep"] is False and confirm["delta"] == pytest.approx(0.0)  # fresh draws: no gain
    rounds = [e for e in evaluations(config, 1) if e.kind == "confirm"]
    assert sorted(e.subject_experiment for e in rounds) == [0, 1]
    assert sorted(e.id for e in rounds) == sorted(row.decision["confirm_evaluations"])
    assert all(e.quality == pytest.approx(0.5) for e in rounds)
    official_full = [e for e in evaluations(config, 1) if e.kind == "official" and e.gate == "full"]
    assert official_full[0].quality == pytest.approx(1.0)  # both rounds are in the record
    assert "Experiment: 0001" not in h.git(research_repo, "log", "--format=%B", "research")
    # the same service checks drift: the stored lucky round judged again by a judge that is always fair
    from loop.daemon.rejudge import Rejudger

    drift = Rejudger(config, FairJudge()).judge_drift(official_full[0].id, 1)
    assert drift.drifted and drift.delta == pytest.approx(-0.5) and drift.cases == 30


class FairJudge:
    """An in-process judge that calls every answer a tie with dims 3 (score 0.5)."""

    judge_id = "anthropic:claude-sonnet-4-6"

    def judge(self, case, candidate):
        from loop.schemas import CaseJudgement, DimScores

        return CaseJudgement(dims=DimScores(**dict.fromkeys(("atomicity", "specificity", "coverage", "naturalness",
                                                                  "non_redundancy"), 3)),
                             verdict_candidate_first="tie", verdict_gold_first="tie", verdict="tie")


def test_the_noise_floor_is_measured_on_each_new_incumbent_by_model_line(research_repo, h):
    from loop.daemon.noise import stored_noise_floor

    always_good = lambda kind, task, draw: "good" if kind == "VARIANT" else "fair"  # noqa: E731
    config = run_night(research_repo, h, always_good, VariantAgent())
    rows = h.rows(config)
    assert rows[1].status == "kept", rows[1].reason
    assert rows[1].decision["confirm"]["keep"] is True
    for number in (0, 1):
        assert stored_noise_floor(config, rows[number].ruler_id, rows[number].model_line, number) == 0.0
        assert [e.kind for e in evaluations(config, number)].count("noise") == 1
    assert stored_noise_floor(config, rows[1].ruler_id, "another-line", 1) is None



def test_the_baseline_and_a_kept_experiment_carry_the_holdout_and_the_goodhart_gap(research_repo, h):
    import urllib.request

    from loop.daemon.digest import digest
    from loop.dashboard.app import create_app
    from loop.dashboard.server import BackgroundServer, allowed_hosts

    holdout_tasks = {c.task for c in load_cases(research_repo / "ruler" / "holdout.jsonl")}

    def better_but_overfit(kind, task, draw):
        if kind != "VARIANT":
            return "fair"
        return "bad" if task in holdout_tasks else "good"

    config = run_night(research_repo, h, better_but_overfit, VariantAgent())
    rows = h.rows(config)
    base, kept = rows[0], rows[1]
    assert kept.status == "kept", kept.reason
    # the record: ruler 0.5 / holdout 0.5 for the stock pipeline, ruler 1.0 / holdout 0.0 for the variant
    assert (base.holdout_quality, base.goodhart_gap, base.goodhart_drift) == pytest.approx((0.5, 0.0, 0.0))
    assert (kept.holdout_quality, kept.goodhart_gap, kept.goodhart_drift) == pytest.approx((0.0, 1.0, 1.0))
    assert base.holdout_check["suspected_overfit"] is False
    assert kept.holdout_check["suspected_overfit"] is True and "holdout fell" in kept.holdout_check["reason"]
    holdouts = [e for e in evaluations(config, 1) if e.kind == "holdout"]
    assert len(holdouts) == 1 and holdouts[0].gate == "holdout" and len(verdicts(config, holdouts[0].id)) == 20
    # show --json
    shown = h.cli(research_repo, "show", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["holdout"]["quality"] == pytest.approx(0.0)
    assert record["goodhart_gap"] == pytest.approx(1.0) and record["goodhart_drift"] == pytest.approx(1.0)
    assert record["suspected_overfit"] is True and record["decision"]["confirm"]["keep"] is True
    assert json.loads(h.cli(research_repo, "show", "0", "--json").stdout)["goodhart_gap"] == pytest.approx(0.0)
    # the dashboard's data
    server = BackgroundServer(create_app(config.db_url, config.ruler_dir,
                                         allowed_hosts=allowed_hosts("127.0.0.1"))).start()
    try:
        with urllib.request.urlopen(server.url + "/api/data", timeout=30) as response:
            data = json.loads(response.read())
    finally:
        server.stop()
    points = data["points"]
    at = {n: i for i, n in enumerate(points["number"])}
    assert points["holdout_quality"][at[0]] == pytest.approx(0.5) and points["holdout_quality"][at[1]] == 0.0
    assert points["goodhart_gap"][at[1]] == pytest.approx(1.0) and points["goodhart_drift"][at[1]] == pytest.approx(1.0)
    assert points["suspected_overfit"][at[1]] and not points["suspected_overfit"][at[0]]
    assert data["decisions"]["keep_tests"] == 1 and data["decisions"]["expected_false_keeps"] == pytest.approx(0.025)
    # the digest
    text = digest(config)
    assert "| 0001 | 1.000 | +0.500 | 0.000 **suspected overfit** | +1.000 | +1.000 |" in text, text
    assert "| 0000 | 0.500 | – | 0.500 | +0.000 | +0.000 |" in text
    assert "**Suspected overfit** in 0001: holdout fell from 0.5000" in text
    assert "Keep tests run: **1**; false keeps expected under the null at 97.5% confidence: **0.025**" in text


# --- model lines ---------------------------------------------------------------------------------

def always_good(kind, task, draw):
    return "good" if kind == "VARIANT" else "fair"


def llama_runner(model: Path):
    """The real llama runner on a GGUF file (its probe names the file and its sha256)."""
    import sys

    from loop.runners.client import RunnerClient
    from loop.runners.llama_server import file_sha256

    client = RunnerClient([sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(model),
                           "--sha256", file_sha256(model)], name="llama")
    client.start()
    return client


def replay_runner(answers: Path):
    """The replay runner on an answers file (its probe names the file and its sha256)."""
    import sys

    from loop.runners.client import RunnerClient

    client = RunnerClient([sys.executable, "-m", "loop.runners.replay_server", "serve", "--answers", str(answers)],
                          name="replay")
    client.start()
    return client


def night_on(repo: Path, h, runner, server):
    """One `run --once` night on `runner`, judged by `server` (the same server across nights: the judge id
    names its endpoint, so another port would be another ruler)."""
    cfg = h.config_for(repo, judge="anthropic", anthropic_base_url=server.base_url, judge_concurrency=4,
                       judge_max_retries=0)
    resources = Resources(cfg, runner=runner, session_factory=VariantSession)
    try:
        Daemon(cfg, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=VariantAgent(),
               resources=resources).run()
    finally:
        runner.close()
    return cfg


SMOLLM2 = Path(__file__).resolve().parents[2] / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.parametrize("runner", ["llama", "replay"])
def test_a_model_change_opens_a_new_line_and_rebaselines_without_comparing_across(runner, research_repo, h,
                                                                                   tmp_path):
    from loop.daemon.digest import digest
    from loop.daemon.noise import stored_noise_floor

    if runner == "llama":
        if not SMOLLM2.exists():
            pytest.fail(f"{SMOLLM2} missing: run `autoresearch models fetch --model smollm2`")
        first, second = SMOLLM2, tmp_path / "SmolLM2-copy.gguf"
        second.write_bytes(SMOLLM2.read_bytes())  # the same weights under another file: another identity
        make = llama_runner
    else:
        first, second = tmp_path / "answers-one.json", tmp_path / "answers-two.json"
        first.write_text("{}")
        second.write_text("{}")
        make = replay_runner
    with ScriptedAnthropicServer(ScriptedJudge(always_good)) as server:
        night_on(research_repo, h, make(first), server)
        config = night_on(research_repo, h, make(second), server)
    rows = h.rows(config)
    old, new = rows[0].model_line, rows[2].model_line
    assert old and new and old != new
    assert [rows[n].model_line for n in range(5)] == [old, old, new, new, new]
    assert rows[1].status == "kept"  # the best of the old line
    # the new line's automatic experiments: the stock baseline re-scored, then the best re-scored
    assert rows[2].agent == "baseline" and rows[2].status == "kept" and rows[2].parent_commit == rows[0].commit
    assert rows[3].agent == "line-best" and rows[3].status == "kept" and rows[3].parent_commit == rows[1].commit
    assert h.git(research_repo, "rev-parse", "research") == rows[3].commit
    assert rows[2].decision is None and rows[3].decision is None  # measured, never compared
    # research continues inside the new line: experiment 4 is judged against experiment 3 only
    assert rows[4].parent == 3 and rows[4].decision["first"]["delta"] == pytest.approx(0.0)
    for number in range(5):
        lines = {e.model_line for e in evaluations(config, number)}
        assert lines == {old if number < 2 else new}, (number, lines)
    assert stored_noise_floor(config, rows[3].ruler_id, new, 3) == 0.0
    assert stored_noise_floor(config, rows[3].ruler_id, new, 1) is None
    assert rows[3].goodhart_drift == pytest.approx(rows[3].goodhart_gap - rows[2].goodhart_gap)
    # the change, said the same way in status, the digest and the dashboard
    before = rows[1].model_identity["model"]
    after = rows[3].model_identity["model"]
    assert before == first.name and after == second.name
    message = f"from {runner}:{before}"
    status = h.cli(research_repo, "status")
    assert status.returncode == 0 and "model line: model changed " + message in status.stdout, status.stdout
    assert f"to {runner}:{after}" in status.stdout
    assert "baseline 0.500 → 0.500, best 1.000 → 1.000" in status.stdout
    text = digest(config)
    assert "## Model lines" in text and message in text and "baseline 0.500 → 0.500, best 1.000 → 1.000" in text
    from loop.dashboard import queries
    from loop.dashboard.source import open_source

    with open_source(config.db_url).engine.connect() as conn:
        changes = queries.model_changes(conn)
    assert len(changes) == 1 and message in changes[0]["message"]
