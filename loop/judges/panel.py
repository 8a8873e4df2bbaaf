"""The panel judge: several official-judge model ids on the same frozen prompts, aggregated per case by
majority verdict (each order, and the combined verdict; no majority is a tie) and the mean of each
dimension (rounded half up). Its judge id "panel:<model>+<model>+..." gives it a ruler id of its own: an
analysis judge unless the config makes it the official one (`judge = "panel"`).

A panel of one model family keeps that family's bias (the official gold was written by the same family
as the official judge); it lowers one model's noise and self-preference, not the family's.
A case any member fails on is an error judgement (an outage is never a score).
"""

from __future__ import annotations

import math
from collections import Counter

from loop.config import Config
from loop.judges.base import error_judgement
from loop.schemas import DIMENSIONS, Answer, Case, CaseJudgement, DimScores


def majority(votes: list) -> str:
    """The verdict more than half the members gave; else "tie"."""
    (top, count), = Counter(votes).most_common(1)
    return top if count * 2 > len(votes) else "tie"


def aggregate(judgements: list[CaseJudgement], names: list[str]) -> CaseJudgement:
    calls = sum(j.judge_calls for j in judgements)
    failed = [f"{name}: {j.error}" for name, j in zip(names, judgements) if j.error is not None]
    if failed:
        return error_judgement("; ".join(failed), judge_calls=calls)
    dims = {d: int(math.floor(sum(getattr(j.dims, d) for j in judgements) / len(judgements) + 0.5))
            for d in DIMENSIONS}
    return CaseJudgement(
        dims=DimScores(**dims),
        verdict_candidate_first=majority([j.verdict_candidate_first for j in judgements]),
        verdict_gold_first=majority([j.verdict_gold_first for j in judgements]),
        verdict=majority([j.verdict for j in judgements]),
        reasoning="\n".join(f"[{name}] {j.reasoning}" for name, j in zip(names, judgements)),
        failure_notes="\n".join(f"[{name}] {j.failure_notes}" for name, j in zip(names, judgements) if j.failure_notes),
        judge_calls=calls,
    )


class PanelJudge:
    """Thread-safe as its members are (each an `AnthropicJudge`)."""

    def __init__(self, config: Config, *, members: list | None = None):
        from loop.judges.anthropic_judge import AnthropicJudge

        models = list(config.panel_judge_models)
        if members is None:
            if len(models) < 2:
                raise ValueError("panel_judge_models needs at least two judge model ids for a panel "
                                 f"(it has {models!r})")
            members = [AnthropicJudge(config.model_copy(update={"judge_model": m})) for m in models]
        self.members = members
        self.mode = config.judge_mode
        self.names = [m.judge_id for m in members]
        self.judge_id = "panel:" + "+".join(n.removeprefix("anthropic:") for n in self.names)

    def judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        return aggregate([m.judge(case, candidate) for m in self.members], self.names)

    def close(self) -> None:
        for member in self.members:
            member.close()

    def __enter__(self) -> "PanelJudge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
