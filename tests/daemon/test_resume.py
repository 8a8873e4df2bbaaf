"""Stopping is prompt and loses nothing: SIGTERM during a re-score stops the daemon within 10 s, and
the next start resumes the interrupted experiment from its step under the same number."""

from __future__ import annotations

import os
import signal
import threading
import time

from sqlalchemy import func, select

from loop.daemon.agents.base import AgentOutcome
from loop.daemon.lock import local_holders
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind
from loop.db.models import CaseResult, Evaluation, GenerationCacheEntry
from loop.db.session import session_scope


class NoteAgent:
    """A greedy pipeline with a real diff (a note): its evaluation generates fresh, cacheable answers."""

    name = "note"

    def run(self, ctx) -> AgentOutcome:
        (ctx.workspace / "notes.md").write_text(f"experiment {ctx.number}\n")
        ctx.services.record_hypothesis(f"note {ctx.number}", "a note that changes no answer", "inference")
        return AgentOutcome(hypothesis=f"note {ctx.number}", cost_usd=0.0, stop_reason="done")


def _signal_mid_rescore(config, h, number: int, cases: int, sent: dict, timeout: float = 180) -> None:
    """SIGTERM this process once experiment `number` is in rescore and generated `cases` fresh answers."""
    deadline = time.monotonic() + timeout
    start = None
    while time.monotonic() < deadline:
        row = h.rows(config).get(number)
        if row is not None and row.step == "rescore":
            with session_scope(config) as db:
                count = db.scalar(select(func.count()).select_from(GenerationCacheEntry))
            start = count if start is None else start
            if count - start >= cases:
                sent["at"] = time.monotonic()
                os.kill(os.getpid(), signal.SIGTERM)
                return
        time.sleep(0.05)


def test_sigterm_in_rescore_stops_within_10s_and_the_restart_resumes_the_same_number(repo_copy, h, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_REPLAY_DELAY_MS", "300")  # slow enough to signal mid-evaluation
    config = h.config_for(repo_copy)
    sent: dict = {}
    watcher = threading.Thread(target=_signal_mid_rescore, args=(config, h, 2, 2, sent), daemon=True)
    watcher.start()
    summary = Daemon(config, RunOptions(live=False, watch=False), agent=NoteAgent()).run()
    stopped_in = time.monotonic() - sent["at"]
    watcher.join()
    assert summary.stop.kind is StopKind.SIGNAL
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"
    row = h.rows(config)[2]
    assert row.status == "running" and row.resume_step == "rescore", (row.status, row.reason)
    assert row.reason == "stopped by signal in step rescore; resumes from step rescore on restart"
    assert sorted(h.rows(config)) == [0, 1, 2]
    with session_scope(config) as db:  # the interrupted evaluation recorded nothing
        assert list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == 2))) == []
    h.assert_git_clean(repo_copy)
    assert local_holders(repo_copy) == {}  # no daemon holds a worker name here any more

    again = Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False),
                   agent=NoteAgent()).run()
    assert "experiment 0002 will resume from step rescore" in again.recovered
    rows = h.rows(config)
    assert sorted(rows) == [0, 1, 2]  # resumed under its own number, no new experiment
    assert rows[2].status in ("kept", "discarded") and rows[2].resume_step is None, rows[2].reason
    assert [r.number for r in again.results] == [2]
    assert h.trailers(repo_copy, "refs/experiments/0002")["Status"] == rows[2].status
    with session_scope(config) as db:
        first = db.scalars(select(Evaluation).where(Evaluation.experiment_number == 2)
                           .order_by(Evaluation.id)).first()
        reused = [c for c in db.scalars(select(CaseResult).where(CaseResult.evaluation_id == first.id))
                  if c.from_cache]
    assert len(reused) >= 2  # the cases finished before the signal were not generated again
    h.assert_git_clean(repo_copy)
