"""Human labels against the judges: which stored candidate a person labels next, and each judge's
agreement with the people (verdict and each rubric dimension: raw agreement, Cohen's kappa, bootstrap
95 % interval; `loop.judges.rater_agreement`).
Read-only over a connection; the write is the dashboard's (`loop.dashboard.labels`)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Connection

from loop.db.models import CaseResult, HumanLabel
from loop.schemas import Answer
from ruler.scoring import MODE_DIMENSIONS

if TYPE_CHECKING:
    from loop.judges.rater_agreement import RaterPair

PICKS = ("A", "tie", "B")
HUMAN_BOOTSTRAP = 400


def candidate_hash(case_id: str, candidate: dict) -> str:
    """One stored candidate, the same whichever evaluation stored it."""
    return hashlib.sha256(json.dumps([case_id, candidate], sort_keys=True).encode()).hexdigest()


class LabelItem(BaseModel):
    """What one labelling page shows (and what its CSRF token is bound to)."""

    case_id: str
    candidate: Answer
    candidate_hash: str
    shown_first: str  # which set is A: "candidate" | "gold"
    source: str = "ruler"  # "ruler": a stored candidate against ruler gold; "pool": a training-pool draft against pool gold


def unblind(pick: str, shown_first: str) -> str:
    """A / tie / B as the person chose -> candidate / tie / gold."""
    if pick == "tie":
        return "tie"
    first_is_candidate = shown_first == "candidate"
    return "candidate" if (pick == "A") == first_is_candidate else "gold"


def next_unlabelled(conn: Connection, case_ids: set[str], author: str) -> tuple[str, dict, str] | None:
    """(case id, candidate, hash) of the newest stored valid candidate this author has not labelled."""
    done = set(conn.execute(select(HumanLabel.candidate_hash).where(HumanLabel.author == author)).scalars())
    rows = conn.execute(select(CaseResult.case_id, CaseResult.candidate)
                        .where(CaseResult.candidate.is_not(None), CaseResult.invalid_reason.is_(None))
                        .order_by(CaseResult.evaluation_id.desc(), CaseResult.case_id))
    for case_id, candidate in rows:
        if case_id not in case_ids:
            continue
        key = candidate_hash(case_id, candidate)
        if key not in done:
            return case_id, candidate, key
    return None


def next_unlabelled_draft(conn: Connection, drafts: dict[str, Answer], author: str) -> tuple[str, dict, str] | None:
    """(pool id, draft, hash) of the first training-pool draft (by id) this author has not labelled."""
    done = set(conn.execute(select(HumanLabel.candidate_hash)
                            .where(HumanLabel.author == author, HumanLabel.source == "pool")).scalars())
    for case_id in sorted(drafts):
        draft = drafts[case_id].model_dump()
        key = candidate_hash(case_id, draft)
        if key not in done:
            return case_id, draft, key
    return None


def label_count(conn: Connection, author: str | None = None) -> int:
    query = select(HumanLabel.id)
    if author:
        query = query.where(HumanLabel.author == author)
    return len(conn.execute(query).all())


def judges_vs_humans(conn: Connection) -> list[RaterPair]:
    """Each judge id against the people on the labelled candidates: the verdict and every rubric dimension
    both sides scored (`loop.judges.rater_agreement`)."""
    from loop.judges.rater_agreement import stored_agreement

    return stored_agreement(conn, samples=HUMAN_BOOTSTRAP, with_humans_only=True)


def parse_dims(form: dict[str, str], side: str) -> dict[str, int] | None:
    """The optional 1-5 scores of set `side` (A or B), fields "A_coverage"...; ValueError naming the
    field on anything else."""
    out = {}
    for dim in MODE_DIMENSIONS["standard"]:
        raw = (form.get(f"{side}_{dim}") or "").strip()
        if not raw:
            continue
        if raw not in ("1", "2", "3", "4", "5"):
            raise ValueError(f"{side}_{dim} must be a score from 1 to 5, not {raw!r}")
        out[dim] = int(raw)
    return out or None
