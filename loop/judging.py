"""A judge error is never a score: after an evaluation's judging, only the cases whose judging failed
are judged again, a few rounds with a doubling pause; if any still fails, the evaluation is incomplete
and `JudgeUnavailable` is raised (nothing is recorded; the daemon waits, see loop/daemon/waiting.py).

Used by the harness (loop/evaluate.py) and by the re-judging service (loop/daemon/rejudge.py).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor
from typing import Callable

from loop.errors import JudgeUnavailable
from loop.schemas import CaseJudgement, CaseOutcome

log = logging.getLogger(__name__)
PAUSE_SLICE_S = 0.1


def guarded(judge_fn: Callable[[], CaseJudgement]) -> CaseJudgement:
    """A judge must not raise; one that does gives a judge error (retried, never a score)."""
    try:
        return judge_fn()
    except Exception as exc:
        return CaseJudgement(dims=None, verdict_candidate_first=None, verdict_gold_first=None, verdict=None,
                             error=f"judge raised {type(exc).__name__}: {exc}")


def pause(seconds: float, should_stop=None):
    """Sleep `seconds`, waking early (and returning the reason) when `should_stop` answers truthy."""
    deadline = time.monotonic() + seconds
    while True:
        stop = should_stop() if should_stop is not None else None
        if stop:
            return stop
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(PAUSE_SLICE_S, left))


def retry_failed(outcomes: list[CaseOutcome], judge_one: Callable[[CaseOutcome], CaseJudgement], pool: Executor, *,
                 retries: int, backoff_s: float, gate: str | None = None, on_pause=None) -> int:
    """Re-judge only the outcomes whose judgement has `error`, up to `retries` rounds; the judge calls
    the failed attempts spent are returned. Raises JudgeUnavailable when a judge error remains.
    `on_pause(seconds)` sleeps between rounds (the harness's stops a running evaluation on a signal)."""
    spent, failed = 0, [o for o in outcomes if o.judgement is not None and o.judgement.error]
    for attempt in range(1, retries + 1):
        if not failed:
            break
        delay = backoff_s * 2 ** (attempt - 1)
        log.warning("judging failed on %d case(s) (%s); judging only those again in %.1f s (round %d of %d)",
                    len(failed), failed[0].judgement.error, delay, attempt, retries)
        (on_pause or time.sleep)(delay)
        spent += sum(o.judgement.judge_calls for o in failed)
        judgements = list(pool.map(judge_one, failed))
        for outcome, judgement in zip(failed, judgements):
            outcome.judgement = judgement
        failed = [o for o in failed if o.judgement.error]
    if failed:
        raise JudgeUnavailable([o.case_id for o in failed], failed[-1].judgement.error, retries + 1, gate)
    return spent
