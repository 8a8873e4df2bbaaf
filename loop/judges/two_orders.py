"""What the LLM judges (official `anthropic_judge`, `local_judge`) do with their two requests per case:
the rubric+verdict reply with the candidate first and the verdict-only reply with gold first become one
`CaseJudgement`, or an error judgement naming the order(s) that failed. One place, so the two judges
cannot drift apart in how a case is scored."""

from __future__ import annotations

from loop.judges.base import error_judgement
from loop.schemas import CaseJudgement, DimScores, Verdict
from ruler.scoring import combine_verdicts

# (the parsed reply or the exception that ended its retries, the requests it took)
Outcome = tuple[object, int]


def dims_from_reply(dims) -> DimScores:
    values = dims.model_dump()
    if "coverage" not in values:  # coverage-blind: a neutral fill that ruler.scoring ignores in this mode
        values["coverage"] = round(sum(values.values()) / len(values))
    return DimScores(**values)


def judgement_from_orders(first: Outcome, second: Outcome) -> CaseJudgement:
    """`first`: the candidate-first rubric request; `second`: the gold-first verdict-only request."""
    calls = first[1] + second[1]
    if isinstance(first[0], Exception) or isinstance(second[0], Exception):
        errors = [f"{name}: {r}" for name, (r, _) in (("candidate-first", first), ("gold-first", second))
                  if isinstance(r, Exception)]
        return error_judgement("; ".join(errors), judge_calls=calls)
    rubric, verdict_only = first[0], second[0]
    cand_first: Verdict = {"A": "candidate", "B": "gold", "tie": "tie"}[rubric.verdict]
    gold_first: Verdict = {"A": "gold", "B": "candidate", "tie": "tie"}[verdict_only.verdict]
    return CaseJudgement(
        dims=dims_from_reply(rubric.dims),
        verdict_candidate_first=cand_first,
        verdict_gold_first=gold_first,
        verdict=combine_verdicts(cand_first, gold_first),
        reasoning=f"[candidate first] {rubric.reasoning}\n[gold first] {verdict_only.reasoning}",
        failure_notes=rubric.failure_notes,
        judge_calls=calls,
    )
