"""Domain shapes shared by every part: answers, ruler cases, judgements.

These are the boundary types: the ruler loader produces `Case`, a pipeline produces an `Answer`,
a judge produces a `CaseJudgement`, the evaluation harness produces an `EvaluationResult`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

QUESTIONS_PER_ANSWER = 7
DIMENSIONS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")

Verdict = Literal["candidate", "tie", "gold"]


def answer_json_schema(questions: int = QUESTIONS_PER_ANSWER) -> dict:
    """JSON Schema forcing a title plus exactly `questions` questions (usable by every runner)."""
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "questions": {"type": "array", "items": {"type": "string"},
                          "minItems": questions, "maxItems": questions},
        },
        "required": ["title", "questions"],
        "additionalProperties": False,
    }


class Answer(BaseModel):
    """A restated title and its clarifying questions (gold or candidate)."""

    model_config = ConfigDict(extra="forbid")
    title: str
    questions: list[str]

    def shape_problem(self) -> str | None:
        """Why this answer is not a title plus exactly seven non-empty questions, or None."""
        if not self.title.strip():
            return "empty title"
        if len(self.questions) != QUESTIONS_PER_ANSWER:
            return f"{len(self.questions)} questions, expected {QUESTIONS_PER_ANSWER}"
        empty = [i + 1 for i, q in enumerate(self.questions) if not q.strip()]
        if empty:
            return f"empty question(s) at position {empty}"
        return None


class Case(BaseModel):
    """One ruler (or holdout, or training-pool) task with its gold answer."""

    model_config = ConfigDict(extra="forbid")
    id: str
    task: str
    gold: Answer
    domain: str | None = None


class DimScores(BaseModel):
    """The five rubric dimensions, each 1..5."""

    model_config = ConfigDict(extra="forbid")
    atomicity: int = Field(ge=1, le=5)
    specificity: int = Field(ge=1, le=5)
    coverage: int = Field(ge=1, le=5)
    naturalness: int = Field(ge=1, le=5)
    non_redundancy: int = Field(ge=1, le=5)

    @classmethod
    def floor(cls) -> "DimScores":
        return cls(atomicity=1, specificity=1, coverage=1, naturalness=1, non_redundancy=1)

    def mean(self) -> float:
        return sum(getattr(self, d) for d in DIMENSIONS) / len(DIMENSIONS)


class JudgeUsage(BaseModel):
    """What judging cost: tokens as the API reported them (retries included) and dollars
    (`loop.judges.pricing`). Zero for the proxy and local judges, and for a verdict read from a cache."""

    input_tokens: int = 0  # uncached input
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: "JudgeUsage") -> "JudgeUsage":
        return JudgeUsage(**{k: getattr(self, k) + getattr(other, k) for k in JudgeUsage.model_fields})

    @classmethod
    def total(cls, usages) -> "JudgeUsage":
        out = cls()
        for usage in usages:
            if usage is not None:
                out = out + usage
        return out


class CaseJudgement(BaseModel):
    """A judge's finding on one case. `error` set means the case was NOT scored (judge failure)."""

    dims: DimScores | None
    verdict_candidate_first: Verdict | None  # candidate shown as set A
    verdict_gold_first: Verdict | None  # gold shown as set A (order swapped)
    verdict: Verdict | None  # combined: disagreement -> tie
    reasoning: str = ""
    failure_notes: str = ""  # what the candidate misses, phrased without quoting gold
    error: str | None = None
    judge_calls: int = 0  # real calls made (0 when served from cache)
    usage: JudgeUsage = Field(default_factory=JudgeUsage)  # what this judging cost (zero from cache)


class CaseOutcome(BaseModel):
    """Everything recorded for one case of one evaluation."""

    case_id: str
    task: str
    candidate: Answer | None
    invalid_reason: str | None = None  # shape problem, pipeline error, timeout
    judgement: CaseJudgement | None = None
    gold_leak: bool = False
    trace: list[dict] = Field(default_factory=list)
    latency_ms: float | None = None
    from_cache: bool = False


class QualitySummary(BaseModel):
    """The one quality number and the figures it is made of."""

    quality: float
    pairwise: float  # P
    rubric: float  # R
    wins: int
    ties: int
    losses: int
    dims: dict[str, float]  # per-dimension means
    scored_cases: int
    judge_errors: int
