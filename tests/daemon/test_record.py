"""The record says what happened: one typed experiment record behind the row, the commit trailers and
`show --json`; the lever derived from the committed workspace with the agent's claim beside it; the
judge's tokens and dollars per evaluation and per experiment, counted in the budget; Optuna told one
objective (the dev gate); a manual `eval` never stored as official.

The official judge here is the scripted Anthropic-compatible server on 127.0.0.1, every reply
reporting the same usage, so each request costs exactly REQUEST_USD at the Sonnet price.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from sqlalchemy import select

from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.agents.sweep import SweepAgent
from loop.daemon.record import ExperimentRecord
from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind
from loop.db.models import Evaluation, Experiment
from loop.db.session import session_scope
from loop.judges.pricing import price_of
from loop.runners.replay_server import generic_answer
from loop.sandbox.session import PipelineResult
from loop.schemas import Answer, JudgeUsage
from tests.support.anthropic_server import ScriptedAnthropicServer, text_reply

USAGE = {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 2000,
         "cache_creation_input_tokens": 0}
REQUEST_USD = (1000 * 3.0 + 100 * 15.0 + 2000 * 0.3) / 1e6  # claude-sonnet-4-6: $3 in, $15 out, reads 0.1 x in
DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")
ONCE = RunOptions(once=True, live=False, watch=False, handle_signals=False)


class FakeSession:
    """The pipeline, deterministic and in-process: the same generic answer for every workspace."""

    mode = "none"

    def __init__(self, workspace):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def run_case(self, task):
        return PipelineResult(answer=Answer(**generic_answer(task)), error=None, trace=[], deterministic=True,
                              model_calls=1, latency_ms=1.0)


def tie_judge(body: dict):
    """Every case a tie with middling dims; the usage of every reply is USAGE."""
    rubric = "dims" in json.dumps(body["output_config"]["format"]["schema"])
    reply = {"reasoning": "scripted", "verdict": "tie"}
    if rubric:
        reply.update(dims=dict.fromkeys(DIMS, 3), failure_notes="scripted notes")
    return text_reply(json.dumps(reply), usage=USAGE)


class OrpoClaimer:
    """Claims the `orpo` lever while only writing a note: the workspace stays inference-only."""

    name = "claimer"

    def run(self, ctx: AgentContext) -> AgentOutcome:
        (ctx.workspace / "notes.md").write_text("I trained nothing.\n")
        ctx.services.evaluate("dev")  # the agent's own evaluation is billed to the experiment too
        ctx.services.record_hypothesis("claimer: an orpo adapter", "nothing, really", "orpo")
        return AgentOutcome(hypothesis="claimer: an orpo adapter", lever="orpo", cost_usd=0.0, turns=1)


def anthropic_config(repo: Path, h, server, **overrides):
    return h.config_for(repo, judge="anthropic", anthropic_base_url=server.base_url, judge_concurrency=4,
                        judge_max_retries=0, **overrides)


def evaluations(config, number: int) -> list[Evaluation]:
    with session_scope(config) as db:
        return list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == number)
                               .order_by(Evaluation.id)))


def test_the_typed_record_round_trips_into_row_trailers_and_show_json(research_repo, h):
    assert price_of("claude-sonnet-4-6").cost(JudgeUsage(**{"input_tokens": 1000, "output_tokens": 100,
                                                           "cache_read_tokens": 2000})) == pytest.approx(REQUEST_USD)
    with ScriptedAnthropicServer(tie_judge) as server:
        config = anthropic_config(research_repo, h, server)
        resources = Resources(config, session_factory=FakeSession)
        Daemon(config, ONCE, agent=OrpoClaimer(), resources=resources).run()
    rows = h.rows(config)
    assert sorted(rows) == [0, 1] and rows[1].status in ("kept", "discarded"), rows[1].reason
    row = rows[1]

    # the lever: derived from the committed workspace (no adapter pointer -> inference), the claim beside it
    assert (row.lever, row.lever_claimed) == ("inference", "orpo")
    assert rows[0].lever == "inference" and rows[0].lever_claimed is None  # the baseline claims nothing

    # the judge's bill: per evaluation exactly its requests times the price; per experiment the sum
    evals = evaluations(config, 1)
    assert {e.kind for e in evals} >= {"agent", "official"}
    for e in evals:
        assert e.judge_input_tokens == 1000 * e.judge_calls and e.judge_cache_read_tokens == 2000 * e.judge_calls
        assert e.judge_output_tokens == 100 * e.judge_calls
        assert e.judge_cost_usd == pytest.approx(REQUEST_USD * e.judge_calls)
    agent_eval = next(e for e in evals if e.kind == "agent")
    assert agent_eval.judge_calls == 20 and agent_eval.judge_cost_usd == pytest.approx(20 * REQUEST_USD)
    assert row.judge_cost_usd == pytest.approx(sum(e.judge_cost_usd for e in evals)) and row.judge_cost_usd > 0
    assert row.judge_input_tokens == sum(e.judge_input_tokens for e in evals)
    assert row.judge_cache_read_tokens == sum(e.judge_cache_read_tokens for e in evals)
    assert rows[0].judge_cost_usd == pytest.approx(sum(e.judge_cost_usd for e in evaluations(config, 0)))

    # row -> record -> row is lossless, and the commit's trailers are the record's
    record = ExperimentRecord.from_row(row)
    for name, value in record.row_fields().items():
        assert getattr(row, name) == value, name
    trailers = h.trailers(research_repo, "refs/experiments/0001")
    assert trailers == record.trailers()
    assert trailers["Lever"] == "inference" and trailers["Lever-Claimed"] == "orpo"
    assert trailers["Status"] == row.status and trailers["Quality"] == f"{row.quality:.4f}"
    assert trailers["Parent"] == "0000" and trailers["Judge-Cost"] == f"{row.judge_cost_usd:.4f}"
    body = h.git(research_repo, "log", "-1", "--format=%B", "refs/experiments/0001")
    assert "The agent claimed lever orpo; the committed workspace uses inference." in body

    # show --json, through the real command
    shown = h.cli(research_repo, "show", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["lever"], data["lever_claimed"]) == ("inference", "orpo")
    assert data["quality"] == row.quality and data["status"] == row.status
    assert data["judge_usage"]["cost_usd"] == pytest.approx(row.judge_cost_usd)
    assert data["judge_usage"]["cache_read_tokens"] == row.judge_cache_read_tokens
    assert sorted(e["judge_cost_usd"] for e in data["evaluations"]) == sorted(e.judge_cost_usd for e in evals)


def test_judge_dollars_count_toward_the_budget(research_repo, h):
    with ScriptedAnthropicServer(tie_judge) as server:
        config = anthropic_config(research_repo, h, server, budget_usd=0.05)
        resources = Resources(config, session_factory=FakeSession)
        summary = Daemon(config, RunOptions(max_experiments=5, live=False, watch=False, handle_signals=False),
                         agent=OrpoClaimer(), resources=resources).run()
    rows = h.rows(config)
    # the baseline alone (30 cases judged twice, its holdout and noise rounds) costs more than $0.05
    assert summary.stop is not None and summary.stop.kind is StopKind.BUDGET, summary.stop
    assert summary.experiments == 0 and sorted(rows) == [0]
    spent = sum(r.judge_cost_usd for r in rows.values())
    assert spent > 0.05 and sum(r.judge_cost_usd for r in summary.results) == pytest.approx(spent)
    assert f"${spent:.2f}" in summary.stop.message


class CrashingSweep(SweepAgent):
    """Asks the study for a trial, then fails: a crashed experiment with a trial to answer."""

    def run(self, ctx):
        super().run(ctx)
        return AgentOutcome(error="scripted failure after the trial was asked")


def test_optuna_is_told_the_dev_gate_quality_and_a_crash_as_failed(research_config):
    # every experiment goes on to the full gate, so it has a dev and a different-gate full quality
    config = research_config.model_copy(update={"full_gate_margin": 1.0})
    agent = SweepAgent(config)
    Daemon(config, ONCE, agent=agent).run()
    with session_scope(config) as db:
        row = db.get(Experiment, 1)
        rid = row.ruler_id
        official = {e.gate: e for e in db.scalars(select(Evaluation).where(
            Evaluation.experiment_number == 1, Evaluation.kind == "official"))}
        baseline_full = db.scalars(select(Evaluation).where(Evaluation.experiment_number == 0,
                                                            Evaluation.gate == "full")).first()
    assert row.gate == "full" and set(official) == {"dev", "full"}, row.reason
    assert official["dev"].quality != official["full"].quality  # two distinct quantities: only one is told
    trials = {t.user_attrs["experiment"]: t for t in agent.study(rid).trials}
    assert trials[1].state == optuna.trial.TrialState.COMPLETE
    assert trials[1].value == pytest.approx(official["dev"].quality)
    assert trials[1].value != pytest.approx(row.quality)  # the full-gate quality was not the objective
    # the seed: the incumbent's quality on the dev gate's cases, not its full-gate quality
    assert trials["incumbent"].value != pytest.approx(baseline_full.quality)
    # the proxy judge costs nothing
    assert baseline_full.judge_cost_usd == 0.0 and baseline_full.judge_input_tokens == 0

    crashing = CrashingSweep(config)
    Daemon(config, ONCE, agent=crashing).run()
    with session_scope(config) as db:
        assert db.get(Experiment, 2).status == "crashed"
    trials = {t.user_attrs["experiment"]: t for t in crashing.study(rid).trials}
    assert trials[2].state == optuna.trial.TrialState.FAIL and trials[2].value is None


def test_a_manual_eval_is_stored_as_manual_and_on_the_holdout_as_holdout(research_repo, h):
    for gate in ("dev", "holdout"):
        done = h.cli(research_repo, "eval", "--gate", gate, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["kind"] == ("holdout" if gate == "holdout" else "manual")
    config = h.config_for(research_repo)
    with session_scope(config) as db:
        kinds = [(e.gate, e.kind, e.experiment_number) for e in db.scalars(select(Evaluation).order_by(Evaluation.id))]
    assert kinds == [("dev", "manual", None), ("holdout", "holdout", None)]
