"""The report's tables from a synthetic record: levers by their definitions, the ceiling and re-judge
rows as the analyses' own readers give them, nothing from other rulers."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from loop.config import Config
from loop.db.models import Evaluation, Experiment
from loop.db.session import session_scope
from tests.support.dashboard_records import RULER_NEW, RULER_OLD, populate, write_ruler
from tests.support.dashboard_records import CLOUD_MODELS
from tests.support.report_records import add_report_extras, blind_verdict
from loop.report.tables import ceiling_rows, lever_rows, rejudge_tables


def test_levers_ceiling_and_rejudge(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    populate(url, 60)
    extras = add_report_extras(url, write_ruler(tmp_path / "ruler"), tmp_path / "store")
    with session_scope(url) as db:
        exps = db.execute(select(Experiment.lever, Experiment.status, Experiment.quality, Experiment.number)
                          .where(Experiment.ruler_id == RULER_NEW)).all()
        incumbent = db.get(Experiment, extras.incumbent)
        incumbent_quality, incumbent_losses = incumbent.quality, incumbent.losses
    with create_engine(url).connect() as conn:
        levers = {r.lever: r for r in lever_rows(conn, RULER_NEW)}
        ceiling = ceiling_rows(conn, RULER_NEW)
        assert ceiling_rows(conn, RULER_OLD) == []
    config = Config(repo=tmp_path, database_url=url)
    rejudges = rejudge_tables(config, RULER_NEW)
    assert rejudge_tables(config, RULER_OLD) == []
    for lever, row in levers.items():
        mine = [e for e in exps if e.lever == lever and e.status in ("kept", "discarded", "invalid")]
        valid = [e for e in mine if e.status != "invalid"]
        assert row.runs == len(mine) and row.kept == sum(e.status == "kept" for e in mine)
        assert row.best_quality == max(e.quality for e in valid)
    assert set(levers) == {e.lever for e in exps if e.status != "crashed"}
    assert [r.label for r in ceiling] == [f"on-device best (experiment {ceiling[0].experiment:04d})", *CLOUD_MODELS]
    assert [r.where for r in ceiling] == ["on-device", "cloud", "cloud"] and ceiling[2].quality == 0.65
    best = max((e for e in exps if e.status == "kept"), key=lambda e: (e.quality, e.number))
    assert (ceiling[0].experiment, ceiling[0].quality) == (best.number, best.quality)
    assert len(rejudges) == 1 and rejudges[0].mode == "coverage-blind" and len(rejudges[0].rows) == 1
    row = rejudges[0].rows[0]
    with session_scope(url) as db:
        verdicts = [c.verdict for c in sorted(db.get(Evaluation, row.evaluation_id).cases, key=lambda c: c.case_id)]
    losses = sum(v == "gold" for v in verdicts)
    flipped = sum(blind_verdict(v, i) != v for i, v in enumerate(verdicts))
    assert row.experiment == extras.incumbent and flipped > 0
    assert row.control.exact and row.quality_standard == pytest.approx(incumbent_quality)
    assert (row.losses_before, row.losses_after) == (losses, losses - flipped) == (incumbent_losses, losses - flipped)
    assert row.quality_mode > row.quality_standard and row.delta == pytest.approx(row.quality_mode - row.quality_standard)
