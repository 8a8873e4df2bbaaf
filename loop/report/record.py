"""Everything the report shows, read from the record under one ruler id into one `ReportData`.

- the climb: every experiment of the view (scored under the ruler, or never scored) as a point
  (`loop.dashboard.queries.points`, the dashboard's own), with its model line and the noise floor its
  keep decision used (`decision.noise_floor`); model-line changes where consecutive scored experiments
  differ in line;
- the tile wall over every experiment (`loop.report.tile_query`), the analysis tables (`tables`);
- training requests with the adapters that answered them (adapter metadata `request`, or the sha256
  named in the answer) and the experiments whose traces called those adapters;
- the drill-down: the cases of one experiment's official evaluation (full gate preferred; default the
  incumbent, the newest kept) with gold from `ruler/tasks.jsonl` unless gold is left out. Holdout
  cases are never read: only `official` evaluations on the dev or full gate are drilled into, and gold
  comes from the ruler's tasks, never from `holdout.jsonl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from loop.dashboard import queries
from loop.dashboard.detail import load_gold
from loop.db.models import CaseResult, Evaluation, Event, Experiment
from loop.report.shape import AdapterCatalog, AdapterInfo
from loop.analysis.record import ScoredRun
from loop.analysis.rejudge_modes import RejudgeTable
from loop.report.tables import LeverRow, ceiling_rows, lever_rows, rejudge_tables
from loop.report.tile_query import read_tiles
from loop.report.tiles import Tile
from loop.schemas import Answer

CASE_FIELDS = ("case_id", "task", "candidate", "invalid_reason", *queries.DIMS, "verdict_candidate_first",
               "verdict_gold_first", "verdict", "reasoning", "failure_notes", "judge_error")


@dataclass(frozen=True)
class LineChange:
    number: int  # the first experiment on the new line
    before: str
    after: str
    message: str


@dataclass
class AdapterUse:
    sha256: str
    info: AdapterInfo | None
    experiments: list[tuple[int, str, float | None]] = field(default_factory=list)  # number, status, quality


@dataclass
class RequestView:
    request: dict[str, Any]  # loop.dashboard.queries.training_requests
    adapters: list[AdapterUse]


@dataclass
class DrillCase:
    case: dict[str, Any]  # CASE_FIELDS
    gold: Answer | None


@dataclass
class Drill:
    number: int
    status: str
    quality: float | None
    hypothesis: str | None
    evaluation_id: int
    gate: str
    cases: list[DrillCase]


@dataclass
class ReportData:
    generated_at: str
    where: str
    ruler: dict[str, Any]
    other_rulers: int  # experiments scored under other rulers (left out: not comparable)
    points: dict[str, list]
    line_changes: list[LineChange]
    tiles: list[Tile]
    levers: list[LeverRow]
    ceiling: list[ScoredRun]  # the on-device best, then each cloud reference (loop.analysis.record)
    rejudges: list[RejudgeTable]  # one per judge mode (loop.analysis.rejudge_record)
    requests: list[RequestView]
    unrequested: list[AdapterUse]  # adapters the traces called that answer no request
    drill: Drill | None
    gold_shown: bool
    gold_error: str | None = None


class ReportRefused(Exception):
    """The report cannot be made from this record (no experiment, unknown ruler or experiment)."""


def _extras(conn: Connection, ruler_id: str | None, numbers: list[int]) -> tuple[list, list]:
    rows = dict((n, (line, decision)) for n, line, decision in conn.execute(
        select(Experiment.number, Experiment.model_line, Experiment.decision).where(
            or_(Experiment.ruler_id == ruler_id, Experiment.ruler_id.is_(None)))))
    lines = [rows.get(n, (None, None))[0] for n in numbers]
    floors = []
    for n in numbers:
        decision = rows.get(n, (None, None))[1]
        floor = decision.get("noise_floor") if isinstance(decision, dict) else None
        floors.append(float(floor) if isinstance(floor, (int, float)) else None)
    return lines, floors


def line_changes(conn: Connection, numbers: list[int], lines: list[str | None]) -> list[LineChange]:
    out, previous = [], None
    for number, line in zip(numbers, lines):
        if line is None:
            continue
        if previous is not None and line != previous:
            message = conn.execute(select(Event.message).where(Event.kind == "model_line", Event.experiment_number
                                                               == number).order_by(Event.id.desc())).scalar()
            out.append(LineChange(number, previous, line, message or f"model line {previous} → {line}"))
        previous = line
    return out


def adapter_uses(tiles: list[Tile], catalog: AdapterCatalog) -> dict[str, AdapterUse]:
    uses: dict[str, AdapterUse] = {}
    for tile in tiles:
        for sha in dict.fromkeys(s.adapter for s in tile.shape.stages if s.kind == "adapter" and s.adapter):
            use = uses.setdefault(sha, AdapterUse(sha, catalog.get(sha)))
            use.experiments.append((tile.number, tile.status, tile.quality))
    return uses


def requests_with_adapters(conn: Connection, uses: dict[str, AdapterUse]) -> tuple[list[RequestView], list[AdapterUse]]:
    views, claimed = [], set()
    for req in queries.training_requests(conn):
        mine = [u for sha, u in uses.items()
                if (u.info is not None and u.info.request == req["id"]) or sha in (req.get("answer") or "")]
        claimed.update(u.sha256 for u in mine)
        views.append(RequestView(req, mine))
    return views, [u for sha, u in uses.items() if sha not in claimed]


def drill(conn: Connection, ruler_id: str | None, number: int | None, gold: dict[str, Any]) -> Drill | None:
    if number is None:
        number = conn.execute(select(Experiment.number).where(Experiment.ruler_id == ruler_id,
                                                              Experiment.status == "kept")
                              .order_by(Experiment.number.desc()).limit(1)).scalar()
        if number is None:
            return None
    exp = conn.execute(select(Experiment.number, Experiment.status, Experiment.quality, Experiment.hypothesis,
                              Experiment.ruler_id).where(Experiment.number == number)).first()
    if exp is None:
        raise ReportRefused(f"there is no experiment #{number} in this record")
    if exp.ruler_id != ruler_id:
        raise ReportRefused(f"experiment #{number} was not scored under ruler {str(ruler_id)[:12]}: its cases are not "
                            f"comparable with this report (pick its ruler with --ruler)")
    eval_id = queries.chosen_evaluations(conn, [number], ruler_id).get(number)
    if eval_id is None:
        return None
    gate = conn.execute(select(Evaluation.gate).where(Evaluation.id == eval_id)).scalar_one()
    if gate not in ("dev", "full"):  # chosen_evaluations reads `official` only; a holdout gate never shows
        return None
    cols = [getattr(CaseResult, name) for name in CASE_FIELDS]
    cases = [dict(r) for r in conn.execute(select(*cols).where(CaseResult.evaluation_id == eval_id)
                                           .order_by(CaseResult.case_id)).mappings()]
    return Drill(number, exp.status, exp.quality, exp.hypothesis, eval_id, gate,
                 [DrillCase(c, gold[c["case_id"]].gold if c["case_id"] in gold else None) for c in cases])


def read_report(conn: Connection, *, where: str, ruler_dir: Path, adapters: AdapterCatalog, config,
                ruler: str | None = None, experiment: int | None = None, gold: bool = True) -> ReportData:
    """The report's data under `ruler` (a full id or a unique prefix; default: the dashboard's ruler).
    `config` names the same record (its `database_url`): the re-judge tables' reader works on a Config."""
    if queries.experiment_count(conn) == 0:
        raise ReportRefused("the record holds no experiment yet (start the loop with `autoresearch run`)")
    rulers = queries.rulers(conn)
    if not rulers:
        raise ReportRefused("no experiment has been scored yet: there is no climb to report")
    chosen = [r for r in rulers if r["id"].startswith(ruler)] if ruler else rulers[:1]
    if len(chosen) != 1:
        known = ", ".join(r["id"][:12] for r in rulers)
        raise ReportRefused(f"--ruler {ruler!r} {'matches several rulers' if chosen else 'scored no experiment'}; "
                            f"known: {known}")
    current = chosen[0]
    rid = current["id"]
    points = queries.points(conn, rid)
    points["model_line"], points["noise_floor"] = _extras(conn, rid, points["number"])
    tiles = read_tiles(conn, rid, adapters, window=None)
    gold_sets, gold_error = load_gold(ruler_dir) if gold else ({}, None)
    views, unrequested = requests_with_adapters(conn, adapter_uses(tiles, adapters))
    return ReportData(
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), where=where, ruler=current,
        other_rulers=sum(r["experiments"] for r in rulers if r["id"] != rid), points=points,
        line_changes=line_changes(conn, points["number"], points["model_line"]), tiles=tiles,
        levers=lever_rows(conn, rid), ceiling=ceiling_rows(conn, rid), rejudges=rejudge_tables(config, rid),
        requests=views, unrequested=unrequested, drill=drill(conn, rid, experiment, gold_sets),
        gold_shown=gold, gold_error=gold_error)
