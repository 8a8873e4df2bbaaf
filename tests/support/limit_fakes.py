"""A judge that counts its calls in flight (shared by every worker in a test or bench process), for
the shared judge-concurrency limit (loop/daemon/judge_slots.py)."""

from __future__ import annotations

import threading
import time

from loop.schemas import CaseJudgement


class InFlightJudge:
    """Each `judge()` sleeps `latency_s`; `peak` is the most calls ever in flight at once."""

    judge_id = "fake:in-flight/1"
    mode = "standard"

    def __init__(self, latency_s: float = 0.05, judgement: CaseJudgement | None = None):
        self.latency_s, self.judgement = latency_s, judgement
        self._lock = threading.Lock()
        self.in_flight = self.peak = self.calls = 0

    def judge(self, case, candidate) -> CaseJudgement | None:
        with self._lock:
            self.in_flight += 1
            self.calls += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.latency_s)
            return self.judgement
        finally:
            with self._lock:
                self.in_flight -= 1
