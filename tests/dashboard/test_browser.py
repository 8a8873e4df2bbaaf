"""The dashboard in a real headless Chromium (Debian's `chromium`, driven over the DevTools protocol):
the plotted points equal the record, the page updates itself without a reload, an experiment page
shows a judge's reasoning, and the process diagram's script never runs. Screenshots go to tmp."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from loop.db.models import Experiment
from loop.db.session import session_scope
from tests.support.dashboard_records import RULER_NEW

from .cdp import Browser

pytestmark = [pytest.mark.needs_chromium,
              pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")]

PLOTTED = """(() => {
  const gd = document.getElementById('chart-main');
  if (!gd || !gd.data || !gd.data.length || !gd._fullLayout) return null;
  const counts = {};
  for (const t of gd.data) if (t.meta && t.meta.series === '%s') counts[t.meta.status] = t.x.length;
  return counts;
})()"""


@pytest.fixture
def browser():
    with Browser(width=1400, height=2300) as b:
        yield b


def db_counts(url: str) -> dict[str, int]:
    with session_scope(url) as db:
        return dict(db.execute(select(Experiment.status, func.count()).where(
            (Experiment.ruler_id == RULER_NEW) | Experiment.ruler_id.is_(None)).group_by(Experiment.status)).all())


def test_overview_plots_every_experiment_and_updates_itself(record, serve, browser, tmp_path):
    server = serve(record.url, record.ruler_dir)
    page = browser.new_page()
    page.goto(server.url + "/")
    plotted = page.wait_for(PLOTTED % "quality")
    best = plotted.pop("best")
    assert plotted == db_counts(record.url)
    assert best > 0  # the running-best step line
    assert page.wait_for("document.getElementById('chart-matrix').data.length === 1")
    assert page.evaluate("document.querySelectorAll('#requests li.request').length") == 2
    assert page.evaluate("!!document.querySelector('#chart-main canvas')")  # scattergl drew with WebGL
    assert page.console_errors() == []
    shot = page.screenshot(tmp_path / "overview.png")
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")

    page.evaluate("window.__sameDocument = true; document.querySelector('button[data-metric=wtl]').click()")
    wtl = page.wait_for(PLOTTED % "losses")
    assert wtl["kept"] == plotted["kept"]

    with session_scope(record.url) as db:
        db.add(Experiment(number=41, status="kept", ruler_id=RULER_NEW, quality=0.91, wins=20, ties=5, losses=5,
                          lever="orpo", operator="interactive", finished_at=datetime.now(timezone.utc)))
    updated = page.wait_for((PLOTTED % "losses") + " && " + (PLOTTED % "losses").replace("return counts;",
                            f"return counts.kept === {plotted['kept'] + 1} ? counts : null;"), timeout_s=20)
    assert updated["kept"] == plotted["kept"] + 1
    assert page.evaluate("window.__sameDocument === true")  # no reload happened


def test_experiment_page_shows_the_judges_reasoning_and_a_script_free_diagram(record, serve, browser, tmp_path):
    server = serve(record.url, record.ruler_dir)
    number = max(record.generated.reasoning)
    page = browser.new_page()
    page.goto(f"{server.url}/experiments/{number}")
    reasoning = page.evaluate("document.querySelector('#case-r01 .reasoning').innerText")
    assert reasoning == record.generated.reasoning[number]
    assert page.evaluate("document.querySelectorAll('section.case').length") == 30
    assert page.evaluate("document.querySelectorAll('#case-r01 .set ol li').length") == 14  # gold + candidate
    assert page.wait_for("(() => { const i = document.querySelector('img.diagram');"
                         " return i && i.complete && i.naturalWidth > 0; })()")
    page.goto(f"{server.url}/experiments/{number}/diagram.svg")  # even opened directly, its script is blocked
    assert page.evaluate("document.title") != "pwned"
    page.goto(f"{server.url}/experiments/{number}")
    shot = page.screenshot(tmp_path / "experiment.png")
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_clicking_a_point_opens_its_experiment(record, serve, browser):
    server = serve(record.url, record.ruler_dir)
    page = browser.new_page()
    page.goto(server.url + "/")
    page.wait_for(PLOTTED % "quality")
    target = page.evaluate("""(() => {
      const gd = document.getElementById('chart-main');
      const t = gd.data.find(t => t.meta.status === 'kept' && t.meta.series === 'quality');
      const i = t.x.length - 1, xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
      return {n: t.x[i], x: box.left + xa.l2p(t.x[i]), y: box.top + ya.l2p(t.y[i])};
    })()""")
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        page.send("Input.dispatchMouseEvent", {"type": kind, "x": target["x"], "y": target["y"],
                                               "button": "left", "clickCount": 1})
    assert page.wait_for(f"location.pathname === '/experiments/{target['n']}'", timeout_s=15)
