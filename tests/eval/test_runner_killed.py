"""A runner killed in the middle of an evaluation: the client restarts it, the evaluation goes on,
and every case is recorded exactly once."""

from __future__ import annotations

import os
import signal
import threading
import time

from sqlalchemy import func, select

from loop.db.models import CaseResult
from loop.db.session import session_scope
from loop.evaluate import evaluate
from loop.runners.factory import open_runner


def test_sigkill_mid_evaluation_is_survived_and_nothing_recorded_twice(eval_config, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_REPLAY_DELAY_MS", "150")
    killed: list[int] = []
    with open_runner(eval_config) as runner:
        first_pid = runner.pid
        in_flight = threading.Event()
        original_call = runner.call

        def watched_call(request):
            in_flight.set()
            try:
                return original_call(request)
            finally:
                in_flight.clear()

        runner.call = watched_call

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 60
            while not (runner.calls >= 3 and in_flight.is_set()) and time.monotonic() < deadline:
                time.sleep(0.005)  # wait until the 4th (or a later) request is in flight
            time.sleep(0.02)  # well inside that request's 150 ms
            killed.append(runner.pid)
            os.kill(runner.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        report = evaluate(eval_config, "dev", runner=runner, progress=False)
        killer.join(timeout=5)
        assert killed == [first_pid] and runner.restarts == 1 and runner.pid != first_pid
    assert [o.invalid_reason for o in report.outcomes] == [None] * 10
    assert report.summary.scored_cases == 10
    with session_scope(eval_config) as db:
        rows = db.execute(select(CaseResult.case_id, func.count()).where(
            CaseResult.evaluation_id == report.evaluation_id).group_by(CaseResult.case_id)).all()
    assert len(rows) == 10 and all(count == 1 for _, count in rows)
