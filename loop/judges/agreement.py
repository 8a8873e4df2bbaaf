"""Judge agreement: re-judge stored candidates with two judges; per-dimension and verdict agreement with
Cohen's kappa (unweighted for verdicts, quadratic-weighted for the 1-5 dimensions), each beside its raw
agreement and a bootstrap 95 % interval (with most verdicts "gold better", kappa alone understates
agreement). `rejudge(config, judge, candidates)` is the one re-judging path (caches bypassed).
Nothing here writes to the record.
"""

from __future__ import annotations

import hashlib
import json
import random
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel
from sqlalchemy import select

from loop.config import Config
from loop.errors import InputError
from loop.schemas import Answer, Case, CaseJudgement, CaseOutcome
from ruler.scoring import MODE_DIMENSIONS

VERDICTS = ("candidate", "tie", "gold")
SCORES = (1, 2, 3, 4, 5)
RUBRIC = MODE_DIMENSIONS["standard"]  # the ruler's rubric dimensions, in its order
BOOTSTRAP_SAMPLES = 1000


class StoredCandidate(BaseModel):
    """One distinct (case, candidate) pair found in the record."""

    case: Case
    candidate: Answer
    evaluation_id: int
    experiment_number: int | None


class Agreement(BaseModel):
    """Agreement of two judges on one measure."""

    measure: str  # "verdict" or a dimension name
    n: int
    raw: float  # share of exact agreement
    kappa: float | None  # None when undefined (one category only on both sides)
    low: float | None  # bootstrap 95 % interval of kappa
    high: float | None
    weights: str  # "unweighted" | "quadratic"


class AgreementReport(BaseModel):
    judge_a: str
    judge_b: str
    candidates: int
    errors: int  # candidates left out because a judge failed on them
    measures: list[Agreement]


def cohen_kappa(a: list, b: list, labels: tuple, weights: str = "unweighted") -> float | None:
    """Cohen's kappa of two raters over the same items; "quadratic" weights disagreements by squared
    distance on the ordered `labels`. None when expected disagreement is zero (undefined)."""
    if len(a) != len(b) or not a:
        raise ValueError("kappa needs two equally long, non-empty rating lists")
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b):
        observed[index[x]][index[y]] += 1
    n = len(a)
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]

    def weight(i: int, j: int) -> float:
        if weights == "quadratic":
            return ((i - j) / (k - 1)) ** 2
        return 0.0 if i == j else 1.0

    seen = sum(weight(i, j) * observed[i][j] for i in range(k) for j in range(k)) / n
    expected = sum(weight(i, j) * rows[i] * cols[j] for i in range(k) for j in range(k)) / (n * n)
    if expected == 0:
        return None
    return 1.0 - seen / expected


def measure(name: str, a: list, b: list, labels: tuple, weights: str, *, samples: int = BOOTSTRAP_SAMPLES,
            seed: int = 0) -> Agreement:
    """Raw agreement, kappa and a percentile bootstrap 95 % interval (resampling items)."""
    n = len(a)
    kappa = cohen_kappa(a, b, labels, weights)
    rng = random.Random(seed)
    draws = []
    for _ in range(samples):
        picks = [rng.randrange(n) for _ in range(n)]
        value = cohen_kappa([a[i] for i in picks], [b[i] for i in picks], labels, weights)
        if value is not None:
            draws.append(value)
    draws.sort()
    low = draws[int(0.025 * (len(draws) - 1))] if draws else None
    high = draws[int(0.975 * (len(draws) - 1))] if draws else None
    return Agreement(measure=name, n=n, raw=sum(x == y for x, y in zip(a, b)) / n, kappa=kappa,
                     low=low, high=high, weights=weights)


def compare(judgements_a: list[CaseJudgement], judgements_b: list[CaseJudgement]) -> tuple[list[Agreement], int]:
    """Agreement per measure over the pairs both judges scored; and how many pairs were left out."""
    pairs = [(x, y) for x, y in zip(judgements_a, judgements_b)
             if x.error is None and y.error is None and x.dims and y.dims and x.verdict and y.verdict]
    left_out = len(judgements_a) - len(pairs)
    if not pairs:
        return [], left_out
    out = [measure("verdict", [x.verdict for x, _ in pairs], [y.verdict for _, y in pairs], VERDICTS, "unweighted")]
    for dim in RUBRIC:
        out.append(measure(dim, [getattr(x.dims, dim) for x, _ in pairs], [getattr(y.dims, dim) for _, y in pairs],
                           SCORES, "quadratic"))
    return out, left_out


def parse_numbers(spec: str) -> list[int]:
    """"3,5,7-9" -> [3, 5, 7, 8, 9]."""
    numbers: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (int(p) for p in part.split("-", 1))
                numbers += list(range(low, high + 1))
            elif part:
                numbers.append(int(part))
        except ValueError:
            raise InputError("--experiments", f"{part!r} is not a number or a range like 7-9") from None
    return numbers


def stored_candidates(config: Config, experiments: list[int] | None = None,
                      limit: int | None = None) -> list[StoredCandidate]:
    """Distinct valid candidates in the record (newest evaluation first), with their ruler cases."""
    from loop.db.models import CaseResult, Evaluation
    from loop.db.session import session_scope
    from loop.ruler_files import gate_cases

    cases = {c.id: c for gate in ("full", "holdout") for c in gate_cases(config.ruler_dir, gate)}
    query = (select(CaseResult.case_id, CaseResult.candidate, Evaluation.id, Evaluation.experiment_number)
             .join(Evaluation, CaseResult.evaluation_id == Evaluation.id)
             .where(CaseResult.candidate.is_not(None), CaseResult.invalid_reason.is_(None))
             .order_by(Evaluation.id.desc(), CaseResult.case_id))
    if experiments:
        query = query.where(Evaluation.experiment_number.in_(experiments))
    found: list[StoredCandidate] = []
    seen: set[str] = set()
    with session_scope(config) as db:
        for case_id, candidate, evaluation_id, number in db.execute(query):
            if case_id not in cases:
                continue
            key = hashlib.sha256(json.dumps([case_id, candidate], sort_keys=True).encode()).hexdigest()
            if key in seen:
                continue
            seen.add(key)
            found.append(StoredCandidate(case=cases[case_id], candidate=Answer.model_validate(candidate),
                                         evaluation_id=evaluation_id, experiment_number=number))
            if limit and len(found) >= limit:
                break
    return found


def rejudge(judge, candidates: list[StoredCandidate], concurrency: int = 1) -> list[CaseJudgement]:
    """The one re-judging path: each stored candidate judged afresh (no verdict cache), in order."""
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="rejudge") as pool:
        return list(pool.map(lambda s: judge.judge(s.case, s.candidate), candidates))


def agree(config: Config, judge_a: str, judge_b: str, *, experiments: list[int] | None = None,
          limit: int | None = None, judges: tuple | None = None) -> AgreementReport:
    """Both judges on the stored candidates; `judges` passes ready judge objects (tests)."""
    from loop.judges import make_judge

    candidates = stored_candidates(config, experiments, limit)
    if not candidates:
        raise InputError(config.db_url, "no stored valid candidates to re-judge"
                         + (f" in experiments {experiments}" if experiments else ""))
    first, second = judges or (make_judge(config, judge_a), make_judge(config, judge_b))
    try:
        a = rejudge(first, candidates, config.judge_concurrency if judge_a == "anthropic" else 1)
        b = rejudge(second, candidates, config.judge_concurrency if judge_b == "anthropic" else 1)
    finally:
        for judge in (first, second):
            getattr(judge, "close", lambda: None)()
    measures, errors = compare(a, b)
    return AgreementReport(judge_a=first.judge_id, judge_b=second.judge_id, candidates=len(candidates),
                           errors=errors, measures=measures)


def render_agreement(report: AgreementReport) -> str:
    lines = [f"{report.judge_a}  vs  {report.judge_b}: {report.candidates} stored candidate(s)"]
    lines.append(f"{'measure':15s} {'n':>4s} {'raw':>6s} {'kappa':>7s}  95% interval   weights")
    for m in report.measures:
        kappa = "n/a" if m.kappa is None else f"{m.kappa:.3f}"
        band = "n/a" if m.low is None else f"[{m.low:.2f}, {m.high:.2f}]"
        lines.append(f"{m.measure:15s} {m.n:4d} {m.raw:6.1%} {kappa:>7s}  {band:13s}  {m.weights}")
    return "\n".join(lines)


def flip_rate(outcomes: list[CaseOutcome]) -> float | None:
    """Share of judged cases (valid candidates, no judge error) whose two orders disagree; None when
    no case was judged in both orders."""
    both = [o.judgement for o in outcomes if not o.invalid_reason and o.judgement is not None
            and o.judgement.error is None and o.judgement.verdict_candidate_first and o.judgement.verdict_gold_first]
    if not both:
        return None
    return sum(j.verdict_candidate_first != j.verdict_gold_first for j in both) / len(both)


LLM_JUDGE_PREFIXES = ("anthropic:", "local:", "panel:")


def is_llm_judge(judge_id: str) -> bool:
    """Judges with a position term (LLMs); the proxies are symmetric by construction."""
    return judge_id.startswith(LLM_JUDGE_PREFIXES)
