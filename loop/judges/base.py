"""The judge contract: `judge(case, candidate) -> CaseJudgement`, thread-safe, never raising for judge
failures (those come back as a judgement with `error` set and are excluded from quality)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from loop.schemas import Answer, Case, CaseJudgement


class JudgeError(RuntimeError):
    """A judge could not produce a judgement (transport failure, malformed reply after retries)."""

    def __init__(self, message: str, calls: int = 0):
        super().__init__(message)
        self.calls = calls  # requests sent before giving up


@runtime_checkable
class Judge(Protocol):
    judge_id: str  # e.g. "proxy:minilm-l6-int8/1", "anthropic:claude-sonnet-4-6" (+":coverage-blind")
    mode: str  # "standard" | "coverage-blind": pass to ruler.scoring.summarize(..., mode=judge.mode)

    def judge(self, case: Case, candidate: Answer) -> CaseJudgement: ...


def error_judgement(message: str, judge_calls: int = 0) -> CaseJudgement:
    """A case the judge failed on: not scored, counted in `judge_errors`."""
    return CaseJudgement(
        dims=None, verdict_candidate_first=None, verdict_gold_first=None, verdict=None,
        error=message, judge_calls=judge_calls,
    )
