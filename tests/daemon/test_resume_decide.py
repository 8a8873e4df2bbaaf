"""A stop during `decide` loses no judged work and re-rolls no luck: the next start resumes the same
experiment number, reads back what its first run recorded (dev and full gates, the confirmation round,
the noise floor) and continues the SAME confirmation round, never a fresh redraw.

The judge is a noisy in-process fake (a new random draw on every call for a variant answer), the
pipeline a fake session (`BASE:` / `VARIANT:` answers), everything else the real daemon. The judge
notes which thread drew each verdict: the re-judging service names its threads by round
(`rejudge-confirm`), so the test can count how often each confirmation verdict was drawn.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

from sqlalchemy import select

from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind, signal_stop
from loop.db.models import CaseResult, Evaluation, Event
from loop.db.session import session_scope
from loop.ruler_files import gate_cases
from loop.schemas import CaseJudgement, DimScores
from ruler.scoring import combine_verdicts
from tests.support.variant_fakes import VariantAgent, VariantSession

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")



class NoisyJudge:
    """BASE answers: always a tie, dims 3. VARIANT answers: a fresh random draw each call, good 70 % of the
    time (a win, dims 5), else fair. `stop_when(thread, case_id, title)` is asked after every draw."""

    judge_id = "fake:noisy/1"
    mode = "standard"

    def __init__(self, stop_when=lambda thread, case_id, title: False):
        self.rng, self.lock, self.stop_when = random.Random(), threading.Lock(), stop_when
        self.draws: list[tuple[str, str, str, CaseJudgement]] = []  # (thread name, case id, title, judgement)
        self.on_stop = lambda: None

    def judge(self, case, candidate) -> CaseJudgement:
        with self.lock:
            good = candidate.title.startswith("VARIANT") and self.rng.random() < 0.7
        pick, dims = ("candidate", 5) if good else ("tie", 3)
        judgement = CaseJudgement(dims=DimScores(**dict.fromkeys(DIMS, dims)), verdict_candidate_first=pick,
                                  verdict_gold_first=pick, verdict=combine_verdicts(pick, pick), judge_calls=2)
        thread = threading.current_thread().name
        with self.lock:
            self.draws.append((thread, case.id, candidate.title, judgement))
        if self.stop_when(thread, case.id, candidate.title):
            self.on_stop()
        return judgement

    def confirm_draws(self) -> Counter:
        with self.lock:
            return Counter((c, t) for thread, c, t, _ in self.draws if thread.startswith("rejudge-confirm"))



def run(config, judge: NoisyJudge):
    daemon = Daemon(config, RunOptions(max_experiments=1, live=False, watch=False, handle_signals=False),
                    agent=VariantAgent(), resources=Resources(config, judge=judge, session_factory=VariantSession))
    judge.on_stop = lambda: daemon.request_stop(signal_stop("SIGTERM"))
    return daemon, daemon.run()


def evaluations(config, number: int, kind: str) -> list[Evaluation]:
    with session_scope(config) as db:
        return list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == number, Evaluation.kind == kind)
                               .order_by(Evaluation.id)))


def verdicts(config, evaluation_id: int) -> dict[str, tuple[str, int]]:
    with session_scope(config) as db:
        return {r.case_id: (r.verdict, r.coverage)
                for r in db.scalars(select(CaseResult).where(CaseResult.evaluation_id == evaluation_id))}


def noise_events(config, number: int) -> list[Event]:
    with session_scope(config) as db:
        return list(db.scalars(select(Event).where(Event.kind == "noise_floor", Event.experiment_number == number)))


def test_a_stop_in_the_confirmation_round_resumes_the_same_round(research_repo, h):
    config = h.config_for(research_repo, judge_concurrency=2, judge_wait_initial_s=0.05, judge_wait_max_s=0.2)
    stopped = NoisyJudge(lambda thread, case_id, title: thread.startswith("rejudge-confirm") and title.startswith("VARIANT"))
    daemon, summary = run(config, stopped)
    assert summary.stop.kind is StopKind.SIGNAL
    row = h.rows(config)[1]
    assert row.status == "running" and row.resume_step == "rescore" and row.decision is None, (row.status, row.reason)
    assert row.reason == "stopped by signal in step decide; resumes from step rescore on restart"
    assert evaluations(config, 1, "confirm") == []  # the round broke off: nothing of it recorded
    before = stopped.confirm_draws()
    drawn_before = {(c, t): j for thread, c, t, j in stopped.draws if thread.startswith("rejudge-confirm")}
    variant_before = [key for key in before if key[1].startswith("VARIANT")]
    assert 1 <= len(variant_before) < 30  # stopped inside the round, some of the candidate's draws made

    resumed = NoisyJudge()
    again_daemon, again = run(config, resumed)
    assert "experiment 0001 will resume from step rescore" in again.recovered
    rows = h.rows(config)
    assert sorted(rows) == [0, 1] and [r.number for r in again.results] == [1]
    assert rows[1].status in ("kept", "discarded") and rows[1].resume_step is None, rows[1].reason
    # nothing judged before the stop was judged again: each confirmation verdict drawn exactly once
    both = before + resumed.confirm_draws()
    assert max(both.values()) == 1 and len(both) == 60  # 30 candidate + 30 incumbent outputs, one draw each
    assert not set(before) & set(resumed.confirm_draws())
    confirm = evaluations(config, 1, "confirm")
    assert sorted(e.subject_experiment for e in confirm) == [0, 1]
    candidate = next(e for e in confirm if e.subject_experiment == 1)
    stored = verdicts(config, candidate.id)
    for case_id, title in variant_before:  # the round recorded is the round drawn before the stop
        judged = drawn_before[(case_id, title)]
        assert stored[case_id] == (judged.verdict, judged.dims.coverage)
    decision = rows[1].decision
    assert decision["confirm"] is not None and sorted(decision["confirm_evaluations"]) == sorted(e.id for e in confirm)
    assert [e.gate for e in evaluations(config, 1, "official")] == ["dev", "full"]  # read back, not recorded twice


def test_a_stop_after_the_confirmation_round_reuses_it_and_the_noise_floor(research_repo, h):
    config = h.config_for(research_repo, judge_concurrency=2)
    holdout = {c.id for c in gate_cases(config.ruler_dir, "holdout")}
    stopped = NoisyJudge(lambda thread, case_id, title: case_id in holdout and title.startswith("VARIANT"))
    daemon, summary = run(config, stopped)
    assert summary.stop.kind is StopKind.SIGNAL
    row = h.rows(config)[1]
    assert row.status == "running" and row.resume_step == "rescore", (row.status, row.reason)
    first_confirm = [e.id for e in evaluations(config, 1, "confirm")]
    assert len(first_confirm) == 2 and len(noise_events(config, 1)) == 1  # kept: its noise floor measured
    assert evaluations(config, 1, "holdout") == []

    resumed = NoisyJudge()
    run(config, resumed)
    rows = h.rows(config)
    assert sorted(rows) == [0, 1] and rows[1].status == "kept", rows[1].reason
    assert resumed.confirm_draws() == Counter()  # the recorded round was reused, not judged again
    assert [e.id for e in evaluations(config, 1, "confirm")] == first_confirm
    assert sorted(rows[1].decision["confirm_evaluations"]) == sorted(first_confirm)
    assert len(noise_events(config, 1)) == 1 and not [d for d in resumed.draws if d[0].startswith("rejudge-noise")]
    assert len(evaluations(config, 1, "holdout")) == 1 and rows[1].holdout_quality is not None
    assert [e.gate for e in evaluations(config, 1, "official")] == ["dev", "full"]
