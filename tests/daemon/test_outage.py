"""An outage is never a score, against the scripted Anthropic-compatible server as the judge.

- the judge unreachable for experiment 1: the daemon waits (status line, notification), records no
  quality, counts nothing toward the failure halt, and finishes experiment 1 when the judge answers;
- a stop request while waiting stops promptly; the next start resumes the same experiment number;
- `run --once` with the judge unreachable exits non-zero with a one-line reason, no quality recorded;
- an infrastructure error (the runner answers model_unavailable) crashes the experiment: no quality,
  and the sweep's Optuna study is never told one.
Waits are sub-second (config), the pipeline a stand-in (VariantSession) except for the infrastructure
and --once tests, which run the shipped workspace in the real sandbox on the replay runner.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind, signal_stop
from loop.db.models import Evaluation, Event
from loop.db.session import session_scope
from tests.support.variant_fakes import VariantAgent, VariantSession
from tests.support.anthropic_server import Reply, ScriptedAnthropicServer, text_reply

REPO = Path(__file__).resolve().parents[2]
FAIR = {"reasoning": "scripted", "verdict": "tie"}
DIMS = dict.fromkeys(("atomicity", "specificity", "coverage", "naturalness", "non_redundancy"), 3)
FAST = dict(judge_max_retries=0, judge_case_retries=1, judge_case_backoff_s=0.01, judge_wait_initial_s=0.05,
            judge_wait_max_s=0.2, judge_wait_notify_after_s=0.0, judge_concurrency=4)



class OutageJudge:
    """Fair verdicts; while `down` is set, every request about a VARIANT answer gets a 500."""

    def __init__(self, down: bool = False, everything: bool = False):
        self.down, self.everything = threading.Event(), everything
        if down:
            self.down.set()
        self.failed = 0

    def __call__(self, body: dict) -> Reply:
        user = body["messages"][0]["content"]
        if self.down.is_set() and (self.everything or "VARIANT" in user):
            self.failed += 1
            return Reply(status=500, error_type="api_error", error_message="scripted outage")
        rubric = "dims" in json.dumps(body["output_config"]["format"]["schema"])
        return text_reply(json.dumps({**FAIR, "dims": DIMS, "failure_notes": "none"} if rubric else FAIR))



def official(config, number):
    with session_scope(config) as db:
        return list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == number,
                                                        Evaluation.kind == "official")))


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def start(config, **options):
    daemon = Daemon(config, RunOptions(live=False, watch=False, handle_signals=False, **options),
                    agent=VariantAgent(), resources=Resources(config, session_factory=VariantSession))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    return daemon, thread


def test_a_total_outage_waits_scores_nothing_and_resumes_the_same_experiment(research_repo, h):
    judge = OutageJudge(down=True)
    with ScriptedAnthropicServer(judge) as server:
        config = h.config_for(research_repo, judge="anthropic", anthropic_base_url=server.base_url, **FAST)
        daemon, thread = start(config, max_experiments=1)
        assert wait_for(lambda: (daemon.status.waiting_line or "").endswith("(3 tries)")), daemon.status.waiting_line
        line = daemon.status.render().plain
        assert re.search(r"experiment 0001 · step rescore · waiting for the judge since \d\d:\d\d \(\d+ tries\)", line)
        rows = h.rows(config)
        assert rows[0].status == "kept" and rows[1].status == "running" and rows[1].quality is None
        assert official(config, 1) == [] and daemon.consecutive_failures == 0
        assert [r.number for r in daemon.summary.results] == [0]  # experiment 1 has not ended
        with session_scope(config) as db:
            events = [e.kind for e in db.scalars(select(Event))]
        assert events.count("judge_waiting") == 1  # notified once, after judge_wait_notify_after_s
        failed_while_down = judge.failed
        judge.down.clear()  # the judge answers again
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert failed_while_down >= 3 * 2 * 10  # three tries of the 10 dev cases, both orders
    rows = h.rows(config)
    assert sorted(rows) == [0, 1]  # no new number: experiment 1 went on from its waiting step
    assert rows[1].status == "discarded" and rows[1].quality == pytest.approx(0.5) and rows[1].step == "done"
    assert [e.gate for e in official(config, 1)] == ["dev", "full"]
    assert all(e.judge_errors == 0 for e in official(config, 1))
    assert daemon.consecutive_failures == 0 and daemon.stop.kind is StopKind.MAX_EXPERIMENTS
    assert daemon.status.waiting_line is None


def test_a_stop_while_waiting_is_prompt_and_the_next_start_resumes_the_same_number(research_repo, h):
    judge = OutageJudge(down=True)
    with ScriptedAnthropicServer(judge) as server:
        config = h.config_for(research_repo, judge="anthropic", anthropic_base_url=server.base_url,
                              **{**FAST, "judge_wait_initial_s": 30.0, "judge_wait_max_s": 30.0})
        daemon, thread = start(config, max_experiments=1)
        assert wait_for(lambda: daemon.status.waiting_line is not None)
        asked = time.monotonic()
        daemon.request_stop(signal_stop("SIGTERM"))
        thread.join(timeout=10)
        assert not thread.is_alive() and time.monotonic() - asked < 3.0  # not after the 30 s wait
        row = h.rows(config)[1]
        assert row.status == "running" and row.resume_step == "rescore" and row.quality is None
        assert official(config, 1) == []
        judge.down.clear()
        again, thread = start(config, max_experiments=1)
        thread.join(timeout=60)
    rows = h.rows(config)
    assert sorted(rows) == [0, 1] and rows[1].status == "discarded" and rows[1].quality == pytest.approx(0.5)
    assert again.summary.results[0].number == 1


def test_run_once_with_the_judge_unreachable_exits_non_zero_and_records_no_quality(research_repo, h):
    toml = research_repo / "autoresearch.toml"
    toml.write_text(toml.read_text() + "".join(f"{k} = {v}\n" for k, v in FAST.items()))
    h.git(research_repo, "commit", "-qam", "fast judge retries")
    judge = OutageJudge(down=True, everything=True)
    with ScriptedAnthropicServer(judge) as server:
        done = h.cli(research_repo, "run", "--once", "--no-live",
                     env={"AUTORESEARCH_JUDGE": "anthropic", "ANTHROPIC_BASE_URL": server.base_url,
                          "PYTHONPATH": str(REPO)})  # this checkout's loop/, whatever the venv installed
    assert done.returncode == 5, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("stopped: the judge is unavailable: 30 case(s) on the full gate unjudged after 2 tries")
    assert "HTTP 500" in last and "experiment 0000 suspended, no quality recorded" in last
    config = h.config_for(research_repo)
    row = h.rows(config)[0]
    assert row.quality is None and row.status == "running" and row.resume_step == "rescore"
    with session_scope(config) as db:
        assert list(db.scalars(select(Evaluation))) == []
    assert judge.failed == 2 * 30 * 2  # two rounds (the first and one retry) of 30 cases, both orders


def test_an_infrastructure_error_crashes_the_experiment_unscored_and_the_sweep_is_not_told(research_repo, h):
    import optuna

    from loop.daemon.agents.sweep import SweepAgent, open_storage
    from loop.runners.factory import open_runner
    from loop.runners.protocol import ProtocolError, Response

    broken = threading.Event()

    class BreaksAfterProposing:
        """The real sweep agent; once it proposed, the runner's model becomes unavailable."""

        def __init__(self, sweep):
            self.sweep, self.name = sweep, sweep.name

        def run(self, ctx):
            outcome = self.sweep.run(ctx)
            broken.set()
            return outcome

        def __getattr__(self, name):
            return getattr(self.sweep, name)

    with ScriptedAnthropicServer(OutageJudge()) as server:
        config = h.config_for(research_repo, judge="anthropic", anthropic_base_url=server.base_url, **FAST)
        with open_runner(config) as runner:
            real_call = runner.call

            def call(request):
                if broken.is_set() and request.op == "generate":
                    return Response(id=request.id, ok=False, backend=runner.backend,
                                    error=ProtocolError(code="model_unavailable", message="scripted: model unloaded"))
                return real_call(request)

            runner.call = call
            daemon = Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False),
                            agent=BreaksAfterProposing(SweepAgent(config)), resources=Resources(config, runner=runner))
            summary = daemon.run()
    rows = h.rows(config)
    assert rows[0].status == "kept" and rows[1].status == "crashed", rows[1].reason
    assert rows[1].reason.startswith("infrastructure error in step rescore: infrastructure error on case ")
    assert "runner error model_unavailable" in rows[1].reason
    assert rows[1].quality is None and official(config, 1) == []
    assert summary.stop.kind is StopKind.CRASHED and daemon.consecutive_failures == 1
    trials = [t for s in optuna.get_all_study_summaries(open_storage(config))
              for t in optuna.load_study(study_name=s.study_name, storage=open_storage(config)).get_trials()
              if t.user_attrs.get("experiment") == 1]
    assert len(trials) == 1 and trials[0].state is optuna.trial.TrialState.FAIL and trials[0].value is None
