"""A whole night, every night: stop policies, windows on a controllable clock, plateau `continue`,
bad configuration, a rotating daemon.log."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from loop.config import load_config
from loop.daemon.agents.base import AgentOutcome
from loop.daemon.logfile import log_path, setup_logging
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import (Budget, FailuresInARow, MaxExperiments, Plateau, RunState, StopKind, Until,
                                  first_stop)
from loop.db.models import TrainingRequest
from loop.db.session import session_scope
from loop.errors import InputError

NIGHT = datetime(2026, 3, 10, 21, 0)


class FakeClock:
    """Local time that moves only when the scheduler sleeps: a night passes in no real time."""

    def __init__(self, start: datetime):
        self.moment = start
        self.wakes: list[datetime] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.moment

    def sleep_until(self, moment: datetime, cancel: threading.Event) -> bool:
        if cancel.is_set():
            return False
        with self._lock:
            self.moment = max(self.moment, moment)
            self.wakes.append(self.moment)
        return True


class NoteAgent:
    """Writes a note into the workspace: a real diff that changes no answer, so never a new best."""

    name = "note"

    def __init__(self):
        self.broadened: list[str] = []

    def run(self, ctx) -> AgentOutcome:
        (ctx.workspace / "notes.md").write_text(f"experiment {ctx.number}\n")
        ctx.services.record_hypothesis(f"note {ctx.number}", "a note that changes nothing", "inference")
        return AgentOutcome(hypothesis=f"note {ctx.number}", cost_usd=0.0, stop_reason="done")

    def broaden(self, reason: str) -> None:
        self.broadened.append(reason)


def state(**kw) -> RunState:
    return RunState(now=kw.pop("now", NIGHT), **kw)


# --- stop policies ------------------------------------------------------------------------------
def test_each_policy_answers_with_its_own_kind():
    policies = [Budget(5.0), MaxExperiments(10), FailuresInARow(3), Plateau(4, "halt"),
                Until(NIGHT + timedelta(hours=8), "05:00")]
    assert first_stop(policies, state()) is None
    cases = {StopKind.BUDGET: state(spent_usd=5.0), StopKind.MAX_EXPERIMENTS: state(experiments=10),
             StopKind.FAILURES: state(consecutive_failures=3), StopKind.PLATEAU: state(since_best=4),
             StopKind.UNTIL: state(now=NIGHT + timedelta(hours=8))}
    for kind, run_state in cases.items():
        reason = first_stop(policies, run_state)
        assert reason is not None and reason.kind is kind, (kind, reason)
    assert first_stop(policies, state(spent_usd=5.0, experiments=10)).kind is StopKind.BUDGET  # order decides
    assert "without a new best" in first_stop(policies, state(since_best=4)).message


def test_plateau_continue_acts_once_per_stretch_and_again_after_a_new_best():
    seen = []
    plateau = Plateau(3, "continue", seen.append)
    for since_best in (1, 2, 3, 4, 5):
        assert plateau.check(state(since_best=since_best)) is None
    assert [s.since_best for s in seen] == [3]
    plateau.check(state(since_best=6))  # a second full stretch without a new best
    assert [s.since_best for s in seen] == [3, 6]
    for since_best in (0, 1, 2, 3):  # a new best reset the count: the next plateau is a new one
        plateau.check(state(since_best=since_best))
    assert [s.since_best for s in seen] == [3, 6, 3]


# --- windows ------------------------------------------------------------------------------------
def test_a_window_run_crossing_midnight_twice_runs_in_both_windows(research_config):
    config = research_config.model_copy(update={"window": "22:00-07:00", "interval_s": 4 * 3600.0})
    clock = FakeClock(NIGHT)  # 21:00, an hour before the window opens
    summary = Daemon(config, RunOptions(max_experiments=4, live=False, watch=False, handle_signals=False),
                     agent=NoteAgent(), clock=clock).run()
    day1, day2, day3 = NIGHT.date(), NIGHT.date() + timedelta(days=1), NIGHT.date() + timedelta(days=2)
    assert [(w.date(), w.strftime("%H:%M")) for w in clock.wakes] == [
        (day1, "22:00"), (day2, "02:00"), (day2, "06:00"),  # the first night, across its midnight
        (day2, "22:00"), (day3, "02:00")]  # slept through the day (10:00 is outside), the second night
    assert summary.stop.kind is StopKind.MAX_EXPERIMENTS
    assert [r.status for r in summary.results][0] == "kept" and summary.results[0].baseline
    assert all(r.status in ("kept", "discarded") for r in summary.results), [r.reason for r in summary.results]
    assert len(summary.results) == 5


# --- plateau ------------------------------------------------------------------------------------
def test_plateau_continue_files_one_request_and_goes_on(research_config, h):
    config = research_config.model_copy(update={"plateau": 2, "plateau_policy": "continue"})
    agent = NoteAgent()
    summary = Daemon(config, RunOptions(max_experiments=5, live=False, watch=False, handle_signals=False),
                     agent=agent).run()
    assert summary.experiments == 5 and summary.stop.kind is StopKind.MAX_EXPERIMENTS
    assert not any(r.new_best for r in summary.results)
    with session_scope(config) as db:
        requests = list(db.scalars(select(TrainingRequest)))
    assert len(requests) == 1  # the plateau came at 2 and again at 4: the first request is still open
    assert requests[0].status == "open" and requests[0].recipe == "sft"
    assert "plateau: 2 experiments without a new best" in requests[0].rationale
    assert (config.repo / requests[0].path).exists()
    assert len(agent.broadened) == 2  # each plateau stretch widens the search


def test_plateau_halt_stops_the_night(research_config):
    config = research_config.model_copy(update={"plateau": 2, "plateau_policy": "halt"})
    summary = Daemon(config, RunOptions(max_experiments=5, live=False, watch=False, handle_signals=False),
                     agent=NoteAgent()).run()
    assert summary.stop.kind is StopKind.PLATEAU and summary.experiments == 2
    with session_scope(config) as db:
        assert list(db.scalars(select(TrainingRequest))) == []


# --- bad configuration --------------------------------------------------------------------------
@pytest.mark.parametrize("line, field", [('plateau_policy = "sometimes"', "plateau_policy"),
                                         ("verdict_cache_max = -5", "verdict_cache_max"),
                                         ("generation_cache_max = -1", "generation_cache_max"),
                                         ("drift_check_every = -1", "drift_check_every")])
def test_a_bad_setting_is_one_error_naming_file_and_line_and_nothing_changes(research_repo, h, line, field):
    toml = research_repo / "autoresearch.toml"
    toml.write_text(toml.read_text() + "# night settings\n" + line + "\n")
    with pytest.raises(InputError) as caught:
        load_config(research_repo)
    assert caught.value.path == toml and caught.value.line == 4 and field in str(caught.value)
    done = h.cli(research_repo, "run", "--once", "--no-live")
    assert done.returncode != 0
    assert "autoresearch.toml:4" in done.stderr and field in done.stderr
    assert not (research_repo.parent / "record.sqlite").exists()  # nothing was recorded
    assert h.git(research_repo, "for-each-ref", "refs/experiments/") == ""


def test_a_bad_setting_leaves_an_existing_record_byte_for_byte_unchanged(research_config, h):
    import hashlib

    repo = research_config.repo
    db_file = repo.parent / "record.sqlite"
    before = hashlib.sha256(db_file.read_bytes()).hexdigest()
    toml = repo / "autoresearch.toml"
    toml.write_text(toml.read_text() + 'plateau_policy = "sometimes"\n')
    done = h.cli(repo, "run", "--once", "--no-live")
    assert done.returncode == 2 and "autoresearch.toml:3" in done.stderr and "plateau_policy" in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, done.stderr
    assert hashlib.sha256(db_file.read_bytes()).hexdigest() == before
    assert h.git(repo, "for-each-ref", "refs/experiments/", "refs/heads/research") == ""


# --- the log ------------------------------------------------------------------------------------
def test_daemon_log_rotates_and_keeps_a_bounded_number_of_files(tmp_path):
    repo = tmp_path / "repo"
    logger = logging.getLogger("loop.rotation-test")
    setup_logging(repo, max_bytes=10_000, backups=2)
    try:
        for i in range(2000):
            logger.info("line %05d %s", i, "x" * 40)
        folder = log_path(repo).parent
        files = sorted(p.name for p in folder.iterdir())
        assert files == ["daemon.log", "daemon.log.1", "daemon.log.2"]
        assert all((folder / f).stat().st_size <= 10_000 for f in files)
        assert "line 01999" in log_path(repo).read_text()  # the newest lines are in daemon.log
    finally:
        root = logging.getLogger("loop")
        for handler in list(root.handlers):
            if getattr(handler, "baseFilename", "").startswith(str(repo)):
                root.removeHandler(handler)
                handler.close()


# --- the judge drift check ----------------------------------------------------------------------
class OvernightJudge:
    """In-process; calls every answer a tie (0.5) until `harsh_from`, then a loss to gold (0.0): the
    judge behind an unchanged judge id changed during the day."""

    judge_id = "test:overnight-judge/1"

    def __init__(self, clock: FakeClock, harsh_from: datetime):
        self.clock, self.harsh_from = clock, harsh_from

    def judge(self, case, candidate):
        from loop.schemas import CaseJudgement, DimScores

        verdict, dims = ("gold", 1) if self.clock.now() >= self.harsh_from else ("tie", 3)
        return CaseJudgement(dims=DimScores(**dict.fromkeys(("atomicity", "specificity", "coverage", "naturalness",
                                                             "non_redundancy"), dims)),
                             verdict_candidate_first=verdict, verdict_gold_first=verdict, verdict=verdict)


def test_the_daemon_checks_the_judge_for_drift_when_each_window_opens_and_notifies_a_drift(research_config):
    from loop.daemon.resources import Resources
    from loop.db.models import Evaluation, Event

    config = research_config.model_copy(update={"window": "22:00-07:00", "interval_s": 4 * 3600.0,
                                                "drift_check_every": 0})
    clock = FakeClock(NIGHT)
    judge = OvernightJudge(clock, harsh_from=NIGHT + timedelta(hours=21))  # 18:00 the next day
    resources = Resources(config, judge=judge)
    try:
        Daemon(config, RunOptions(max_experiments=4, live=False, watch=False, handle_signals=False),
               agent=NoteAgent(), resources=resources, clock=clock).run()
    finally:
        resources.close()
    with session_scope(config) as db:
        checks = [e.payload for e in db.scalars(select(Event).where(Event.kind == "drift_check").order_by(Event.id))]
        alerts = list(db.scalars(select(Event).where(Event.kind == "judge_drift")))
        drift_rounds = list(db.scalars(select(Evaluation).where(Evaluation.kind == "drift")))
    # one check per window: the first night's (at 02:00, once an incumbent existed), the second at 22:00
    assert [c["due"] for c in checks] == ["the run window 22:00-07:00 opened at 2026-03-10 22:00",
                                          "the run window 22:00-07:00 opened at 2026-03-11 22:00"]
    first, second = checks
    assert first["incumbent"] == 0 and first["delta"] == 0.0 and not first["drifted"] and not first["beyond_floor"]
    assert second["incumbent"] == 0 and second["delta"] == pytest.approx(-0.5) and second["cases"] == 30
    assert second["drifted"] and second["beyond_floor"] and second["noise_floor"] == 0.0
    assert sorted(e.id for e in drift_rounds) == sorted(c["drift_evaluation_id"] for c in checks)
    assert all(e.experiment_number == 0 and e.subject_experiment == 0 for e in drift_rounds)
    assert len(alerts) == 1 and alerts[0].experiment_number == 0
    assert alerts[0].message == ("judge drift: re-judging experiment 0000's full gate gives -0.500 per case "
                                 "(30 cases), beyond the noise floor 0.0000; scores judged before and after differ")


def test_the_drift_schedule_counts_iterations_and_waits_for_something_to_re_judge():
    from loop.daemon.drift import DriftSchedule, DueKind
    from loop.daemon.scheduler import Window

    every = DriftSchedule(3)
    assert [every.due(NIGHT) for _ in range(2)] == [None, None]
    due = every.due(NIGHT)
    assert due.kind is DueKind.EVERY_N and due.message == "3 iterations since the last drift check"
    assert every.due(NIGHT) is not None  # not checked (no incumbent yet): still due
    every.checked(NIGHT)
    assert [every.due(NIGHT) for _ in range(2)] == [None, None] and every.due(NIGHT) is not None
    windowed = DriftSchedule(0, Window.parse("22:00-07:00"))
    assert windowed.due(NIGHT) is None  # 21:00: outside the window
    late = NIGHT + timedelta(hours=3)  # 00:00, inside the occurrence that opened at 22:00
    assert windowed.due(late).kind is DueKind.WINDOW_OPENED
    windowed.checked(late)
    assert windowed.due(late + timedelta(hours=2)) is None
    assert windowed.due(late + timedelta(hours=23)).kind is DueKind.WINDOW_OPENED  # the next night
