"""The lever-class table and the rubric "scored as candidate" table, from the record, under one ruler id.

Lever classes: the stock baseline (experiments the daemon ran as `baseline`), then each recorded lever
(`inference`, `sft`, `orpo`, `dpo`: the strongest the committed pipeline uses, derived by the daemon).
Per class: runs (every finished experiment of the class under the ruler: kept, discarded or invalid),
how many set a new best (kept), the best quality among valid runs (kept or discarded; an invalid run's
number is not a measurement), that run's coverage and the gate it was measured on.

The rubric table sets the on-device best (the kept experiment with the highest full-gate quality) beside
each cloud anchor (the newest `reference` evaluation per cloud model on the full gate), per dimension.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from loop.analysis import AnalysisRefused
from loop.analysis.record import on_device_best, references
from loop.db.models import Experiment, Ruler
from loop.db.session import engine_for, session_scope
from loop.schemas import DIMENSIONS

BASELINE = "baseline"
CLASSES = (BASELINE, "inference", "sft", "orpo", "dpo")  # table order (loop.daemon.agents.base.Lever after the baseline)
LABELS = {BASELINE: "stock baseline", "inference": "inference", "sft": "SFT adapters", "orpo": "ORPO adapters",
          "dpo": "DPO adapters"}
VALID = ("kept", "discarded")
FINISHED = ("kept", "discarded", "invalid")
RUBRIC_GATE = "full"


class LeverRow(BaseModel):
    lever: str  # baseline | inference | sft | orpo | dpo
    label: str
    runs: int
    kept: int
    invalid: int
    best_experiment: int | None
    best_quality: float | None
    coverage: float | None  # the best run's mean coverage (1-5)
    gate: str | None  # the gate the best run was measured on


class RubricRow(BaseModel):
    label: str
    where: str  # on-device | cloud
    experiment: int | None
    model: str | None
    quality: float
    dims: dict[str, float | None]


class LeverReport(BaseModel):
    ruler_id: str
    judge_id: str
    levers: list[LeverRow]
    rubric: list[RubricRow]  # empty when the record has no full-gate on-device best


def lever_of(exp: Experiment) -> str:
    return BASELINE if exp.agent == BASELINE else exp.lever


def default_ruler(config) -> str:
    """The ruler the dashboard opens on: the newest that scored an experiment (loop.dashboard.queries.rulers)."""
    from loop.dashboard.queries import rulers

    with engine_for(config.db_url).connect() as conn:
        found = rulers(conn)
    if not found:
        raise AnalysisRefused("no experiment has been scored yet: the lever table needs a record (`autoresearch run`)")
    return found[0]["id"]


def lever_table(exps) -> list[LeverRow]:
    """The lever-class rows of finished experiments (ORM objects or rows with number, agent, lever, status,
    quality, dims, gate): the one definition the command and the report share."""
    exps = list(exps)
    levers = []
    for lever in CLASSES + tuple(sorted({lever_of(e) for e in exps} - set(CLASSES))):
        mine = [e for e in exps if lever_of(e) == lever]
        if not mine:
            continue
        valid = [e for e in mine if e.status in VALID and e.quality is not None]
        best = max(valid, key=lambda e: (e.quality, e.number)) if valid else None
        levers.append(LeverRow(
            lever=lever, label=LABELS.get(lever, lever), runs=len(mine), kept=sum(e.status == "kept" for e in mine),
            invalid=sum(e.status == "invalid" for e in mine), best_experiment=best.number if best else None,
            best_quality=best.quality if best else None,
            coverage=(best.dims or {}).get("coverage") if best else None, gate=best.gate if best else None))
    return levers


def lever_report(config, ruler: str | None = None) -> LeverReport:
    """The two tables under `ruler` (a full id or a unique prefix; default: the dashboard's ruler)."""
    rid = resolve_ruler(config, ruler) if ruler else default_ruler(config)
    with session_scope(config) as db:
        judge_id = db.get(Ruler, rid).judge_id
        exps = list(db.scalars(select(Experiment).where(Experiment.ruler_id == rid,
                                                        Experiment.status.in_(FINISHED)).order_by(Experiment.number)))
    levers = lever_table(exps)
    return LeverReport(ruler_id=rid, judge_id=judge_id, levers=levers, rubric=rubric_rows(config, rid))


def rubric_rows(config, rid: str) -> list[RubricRow]:
    best = on_device_best(config, rid, RUBRIC_GATE)
    if best is None:
        return []
    runs = [best] + references(config, rid, RUBRIC_GATE)
    return [RubricRow(label=r.label if r.where == "on-device" else f"{r.label} (cloud anchor)", where=r.where,
                      experiment=r.experiment, model=r.model, quality=r.quality,
                      dims={d: r.dims.get(d) for d in DIMENSIONS}) for r in runs]


def resolve_ruler(config, prefix: str) -> str:
    with session_scope(config) as db:
        ids = [r for r in db.scalars(select(Ruler.id)) if r.startswith(prefix)]
    if len(ids) != 1:
        known = "no ruler starts with it" if not ids else f"{len(ids)} rulers start with it"
        raise AnalysisRefused(f"--ruler {prefix!r}: {known}; `autoresearch ruler id` shows the current one")
    return ids[0]
