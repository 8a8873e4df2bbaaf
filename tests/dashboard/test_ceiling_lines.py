"""The cloud ceiling on the climb chart: each stored reference (`loop.analysis.record.references`) is a
horizontal line labelled with its model on the quality chart (and on each dimension and W/T/L chart at
its own figure), never a point: no plotted trace carries it and the leaderboard's counts stay the record's.
Checked in /api/data and in headless Chromium on the page itself."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
from sqlalchemy import select

from loop.analysis.record import references
from loop.config import Config
from loop.db.models import Experiment
from loop.db.session import session_scope
from tests.support.dashboard_records import CLOUD_MODELS, RULER_NEW, add_references

from .cdp import Browser

LINES = """(() => {
  const gd = document.getElementById('chart-main');
  if (!gd || !gd._fullLayout || !gd.data || !gd.data.length) return null;
  const shapes = (gd.layout.shapes || []).filter(s => (s.name || '').startsWith('reference '));
  const notes = (gd.layout.annotations || []).filter(a => (a.name || '').startsWith('reference '));
  if (!shapes.length) return null;
  return {shapes: shapes.map(s => [s.yref, s.y0, s.y1, s.xref, s.x0, s.x1]),
          labels: notes.map(a => [a.yref, a.y, a.text]),
          traces: gd.data.map(t => t.name), xs: gd.data.flatMap(t => t.hovertext || [])};
})()"""


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def ceiling_record(record, tmp_path):
    with session_scope(record.url) as db:
        add_references(db)
    return record


def test_api_data_carries_the_references_of_the_analyses_reader(ceiling_record, serve, tmp_path):
    server = serve(ceiling_record.url, ceiling_record.ruler_dir)
    data = get_json(server.url + "/api/data")
    stored = references(Config(repo=tmp_path, database_url=ceiling_record.url), RULER_NEW, "full")
    assert [r.model for r in stored] == list(CLOUD_MODELS)
    assert data["references"] == [r.model_dump(include={"model", "gate", "quality", "dims", "wins", "ties", "losses",
                                                        "evaluation_id"}) for r in stored]
    with session_scope(ceiling_record.url) as db:  # the points are the view's experiments, no reference among them
        view = sorted(db.scalars(select(Experiment.number).where(
            (Experiment.ruler_id == RULER_NEW) | Experiment.ruler_id.is_(None))))
    assert data["points"]["number"] == view
    old = get_json(server.url + "/api/data?ruler=" + data["rulers"][-1]["id"])  # another ruler: no ceiling
    assert data["rulers"][-1]["id"] != RULER_NEW and old["references"] == []


@pytest.mark.needs_chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_the_climb_draws_each_reference_as_a_labelled_line_not_a_point(ceiling_record, serve, tmp_path):
    server = serve(ceiling_record.url, ceiling_record.ruler_dir)
    with Browser(width=1400, height=1600) as browser:
        page = browser.new_page()
        page.goto(server.url + "/")
        drawn = page.wait_for(LINES)
        assert drawn["shapes"] == [["y", 0.6, 0.6, "paper", 0, 1], ["y", 0.65, 0.65, "paper", 0, 1]]
        assert drawn["labels"] == [["y", 0.6, "claude-haiku-4-5 · cloud ceiling 0.600"],
                                   ["y", 0.65, "claude-sonnet-4-6 · cloud ceiling 0.650"]]
        assert not any(m in name for name in drawn["traces"] for m in CLOUD_MODELS)  # no trace, no point
        assert not any(m in text for text in drawn["xs"] for m in CLOUD_MODELS)
        assert page.evaluate("document.querySelectorAll('#chart-main .annotation-text').length") >= 2
        shot = page.screenshot(tmp_path / "ceiling.png")
        assert shot.stat().st_size > 20_000
        print(f"screenshot: {shot}")

        page.evaluate("document.querySelector('button[data-metric=coverage]').click()")
        coverage = page.wait_for(LINES.replace("if (!shapes.length) return null;",
                                               "if (!shapes.length || shapes[0].y0 !== 4) return null;"))
        assert [s[1] for s in coverage["shapes"]] == [4.0, 4.5]
        assert [a[2] for a in coverage["labels"]] == ["claude-haiku-4-5 · cloud ceiling 4",
                                                      "claude-sonnet-4-6 · cloud ceiling 4.5"]
        assert page.console_errors() == []
