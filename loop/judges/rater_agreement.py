"""Agreement per rubric dimension and for the verdict between any two raters: the judges (every judge id
with stored judgements in the record) and the people (`human_labels`, one rater named "human").

For each pair of raters, over the candidates both rated: the verdict (unweighted Cohen's kappa) and each
rubric dimension of the ruler (quadratic-weighted kappa), each beside its raw agreement and a bootstrap
95 % interval (`loop.judges.agreement.measure`). A judge's rating of a candidate is its newest stored
judgement of it; every human label counts (two people on one candidate are two items). People may leave
dimensions unscored, so a dimension counts only the items both sides scored; a measure nobody scored on
both sides is left out. A judge scored in a coverage-blind ruler is its own rater ("<id> (coverage-blind)")
and its ignored coverage figure is not compared.

Two entry points: `stored_agreement` (no re-judging, the record as it is: the dashboard and
`judge agree --stored`) and `agree_with_people` (one judge re-judges the labelled candidates through the
one re-judging path, `loop.judges.agreement.rejudge`: `judge agree --a J --b human`). Read-only.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Connection

from loop.config import Config
from loop.errors import InputError
from loop.judges.agreement import RUBRIC, SCORES, VERDICTS, Agreement, AgreementReport, StoredCandidate, measure, \
    rejudge
from loop.schemas import Answer, CaseJudgement, Verdict
from ruler.scoring import MODE_DIMENSIONS

HUMAN = "human"


class Rating(BaseModel):
    """One rater's finding on one candidate: a verdict (candidate / tie / gold) and any 1-5 scores."""

    verdict: Verdict | None = None
    dims: dict[str, int] = {}


Ratings = dict[str, list[Rating]]  # candidate hash -> ratings


class RaterPair(BaseModel):
    rater_a: str
    rater_b: str
    candidates: int  # distinct candidates both rated
    measures: list[Agreement]  # "verdict" first, then the rubric dimensions both sides scored


def pair_measures(a: Ratings, b: Ratings, *, samples: int) -> list[Agreement]:
    """Verdict and per-dimension agreement over the candidates in both `a` and `b` (every pairing of their
    ratings of a candidate is one item)."""
    items = [(x, y) for key in sorted(a.keys() & b.keys()) for x in a[key] for y in b[key]]  # a fixed order
    out = []
    verdicts = [(x.verdict, y.verdict) for x, y in items if x.verdict and y.verdict]
    if verdicts:
        out.append(measure("verdict", [x for x, _ in verdicts], [y for _, y in verdicts], VERDICTS, "unweighted",
                           samples=samples))
    for dim in RUBRIC:
        scores = [(x.dims[dim], y.dims[dim]) for x, y in items if dim in x.dims and dim in y.dims]
        if scores:
            out.append(measure(dim, [x for x, _ in scores], [y for _, y in scores], SCORES, "quadratic",
                               samples=samples))
    return out


def judgement_rating(judgement: CaseJudgement, mode: str = "standard") -> Rating:
    dims = judgement.dims.model_dump() if judgement.dims else {}
    return Rating(verdict=judgement.verdict, dims={d: dims[d] for d in MODE_DIMENSIONS[mode] if d in dims})


def human_ratings(conn: Connection, wanted: set[str] | None = None) -> Ratings:
    """Every label, by candidate hash (only `wanted` hashes when given)."""
    from loop.db.models import HumanLabel

    out: Ratings = {}
    for key, verdict, dims in conn.execute(select(HumanLabel.candidate_hash, HumanLabel.verdict, HumanLabel.dims)
                                           .order_by(HumanLabel.id)):
        if wanted is None or key in wanted:
            out.setdefault(key, []).append(Rating(verdict=verdict, dims={d: int(v) for d, v in (dims or {}).items()
                                                                          if d in RUBRIC}))
    return out


def judge_ratings(conn: Connection, wanted: set[str] | None = None) -> dict[str, Ratings]:
    """Rater name -> candidate hash -> [its newest stored judgement]: valid candidates only (an invalid one
    is a floor judgement the harness made, not the judge's), judge errors left out."""
    from loop.db.models import CaseResult, Evaluation, Ruler
    from loop.judges.human import candidate_hash

    dims = [getattr(CaseResult, d) for d in RUBRIC]
    rows = conn.execute(select(Evaluation.judge_id, Ruler.judge_mode, CaseResult.case_id, CaseResult.candidate,
                               CaseResult.verdict, *dims)
                        .join(Evaluation, CaseResult.evaluation_id == Evaluation.id)
                        .outerjoin(Ruler, Evaluation.ruler_id == Ruler.id)
                        .where(CaseResult.candidate.is_not(None), CaseResult.invalid_reason.is_(None),
                               CaseResult.judge_error.is_(None), CaseResult.verdict.is_not(None))
                        .order_by(Evaluation.id))
    out: dict[str, Ratings] = {}
    for judge_id, mode, case_id, candidate, verdict, *scores in rows:
        key = candidate_hash(case_id, candidate)
        if wanted is not None and key not in wanted:
            continue
        mode = mode or "standard"
        name = judge_id if mode == "standard" else f"{judge_id} ({mode})"
        kept = {d: s for d, s in zip(RUBRIC, scores) if s is not None and d in MODE_DIMENSIONS[mode]}
        out.setdefault(name, {})[key] = [Rating(verdict=verdict, dims=kept)]
    return out


def stored_agreement(conn: Connection, *, samples: int, with_humans_only: bool = False) -> list[RaterPair]:
    """Every pair of raters in the record with a candidate in common (judges in name order, "human" last);
    `with_humans_only`: only each judge against the people, on the labelled candidates (the dashboard)."""
    people = human_ratings(conn)
    judges = judge_ratings(conn, set(people) if with_humans_only else None)
    raters = {**dict(sorted(judges.items())), **({HUMAN: people} if people else {})}
    names = list(raters)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if with_humans_only and b != HUMAN:
                continue
            measures = pair_measures(raters[a], raters[b], samples=samples)
            if measures:
                out.append(RaterPair(rater_a=a, rater_b=b, candidates=len(raters[a].keys() & raters[b].keys()),
                                     measures=measures))
    return out


def labelled_candidates(config: Config) -> list[StoredCandidate]:
    """The distinct labelled candidates whose case is in the ruler (newest label first)."""
    from loop.db.models import HumanLabel
    from loop.db.session import session_scope
    from loop.ruler_files import gate_cases

    cases = {c.id: c for gate in ("full", "holdout") for c in gate_cases(config.ruler_dir, gate)}
    found: dict[str, StoredCandidate] = {}
    with session_scope(config) as db:
        for key, case_id, candidate in db.execute(select(HumanLabel.candidate_hash, HumanLabel.case_id,
                                                         HumanLabel.candidate).order_by(HumanLabel.id.desc())):
            if case_id in cases and key not in found:
                found[key] = StoredCandidate(case=cases[case_id], candidate=Answer.model_validate(candidate),
                                             evaluation_id=0, experiment_number=None)
    return list(found.values())


def agree_with_people(config: Config, judge_name: str, *, limit: int | None = None, judge=None,
                      samples: int) -> AgreementReport:
    """One judge re-judges every labelled candidate; its findings against the people's labels."""
    from loop.db.session import session_scope
    from loop.judges import make_judge
    from loop.judges.human import candidate_hash

    candidates = labelled_candidates(config)[:limit]
    if not candidates:
        raise InputError(config.db_url, "no human labels on ruler cases yet (label some on the dashboard's /label)")
    judge = judge or make_judge(config, judge_name)
    try:
        judgements = rejudge(judge, candidates, config.judge_concurrency if judge_name == "anthropic" else 1)
    finally:
        getattr(judge, "close", lambda: None)()
    mine: Ratings = {}
    for stored, judgement in zip(candidates, judgements):
        if judgement.error is None and judgement.verdict and judgement.dims:
            key = candidate_hash(stored.case.id, stored.candidate.model_dump())
            mine[key] = [judgement_rating(judgement, getattr(judge, "mode", "standard"))]
    with session_scope(config) as db:
        people = human_ratings(db.connection(), set(mine))
    return AgreementReport(judge_a=judge.judge_id, judge_b=HUMAN, candidates=len(candidates),
                           errors=len(candidates) - len(mine), measures=pair_measures(mine, people, samples=samples))


def render_pairs(pairs: list[RaterPair]) -> str:
    from loop.judges.agreement import render_agreement

    if not pairs:
        return "no two raters share a rated candidate in the record"
    return "\n\n".join(render_agreement(AgreementReport(judge_a=p.rater_a, judge_b=p.rater_b, candidates=p.candidates,
                                                        errors=0, measures=p.measures)) for p in pairs)
