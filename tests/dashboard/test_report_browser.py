"""The shareable report and the tile wall in a real headless Chromium (Debian's `chromium` over the
DevTools protocol, as test_browser.py): the report is written by the real CLI in a subprocess, opened
from a file, makes no network request, plots every experiment of the record and draws one tile per
experiment whose structure is its recorded trace; the dashboard's tile wall shows the same tiles and a
tile opens its experiment. Screenshots go to the test's tmp directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select

from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from loop.db.models import Experiment
from loop.db.session import session_scope
from tests.support.dashboard_records import RULER_NEW, gold_questions, populate, write_ruler
from tests.support.report_records import HOLDOUT_ANSWER, HOLDOUT_GOLD, HOLDOUT_TASK, add_report_extras

from .cdp import Browser
from .tile_truth import TILE_JS, drawn, expected_tiles

pytestmark = [pytest.mark.needs_chromium,
              pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")]
REPO = Path(__file__).resolve().parents[2]
PLOTTED = """(() => {
  const gd = document.getElementById('climb');
  if (!gd || !gd.data || !gd._fullLayout || document.body.dataset.climb !== 'drawn') return null;
  const counts = {};
  for (const t of gd.data) counts[t.meta.status] = t.x.length;
  return {counts, shapes: (gd.layout.shapes || []).length};
})()"""
WATCH = ("window.__violations = []; document.addEventListener('securitypolicyviolation', "
         "e => window.__violations.push(e.blockedURI));")


@pytest.fixture
def project(tmp_path: Path):
    root = tmp_path / "project"
    write_ruler(root / "ruler")
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    populate(url, 40, running=True)
    extras = add_report_extras(url, root / "ruler", tmp_path / "store")
    (root / "autoresearch.toml").write_text(f'adapter_store = "{extras.store}"\n')
    return root, url, extras


def run_report(root: Path, url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "loop.cli", "report", "--repo", str(root), "--db", url, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def view_counts(url: str) -> dict[str, int]:
    with session_scope(url) as db:
        return dict(db.execute(select(Experiment.status, func.count()).where(
            or_(Experiment.ruler_id == RULER_NEW, Experiment.ruler_id.is_(None))).group_by(Experiment.status)).all())


def test_the_report_is_self_contained_and_equals_the_record(project, tmp_path):
    root, url, extras = project
    out = tmp_path / "shared" / "report.html"
    out.parent.mkdir()
    done = run_report(root, url, "--out", str(out), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    counts = view_counts(url)
    assert summary["experiments"] == summary["tiles"] == sum(counts.values())
    html = out.read_text()
    for sealed in (HOLDOUT_TASK, HOLDOUT_ANSWER, HOLDOUT_GOLD):
        assert sealed not in html
    assert gold_questions("Plan a trip to Paris")[0].replace("'", "&#x27;") in html

    with Browser(width=1400, height=1200) as browser:
        page = browser.new_page()
        page.send("Network.enable")
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        seen = len(browser.events)
        page.goto(out.as_uri())
        plotted = page.wait_for(PLOTTED)
        requested = [e["params"]["request"]["url"] for e in browser.events[seen:]
                     if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == page.session]
        assert requested == [out.as_uri()]  # the page itself, nothing else
        assert page.evaluate("window.__violations") == []
        assert page.console_errors() == []

        points = {k: v for k, v in plotted["counts"].items() if k in counts}
        assert points == counts
        assert {"best", "noise-low", "noise-high"} <= set(plotted["counts"])
        assert plotted["shapes"] == 1  # the one model-line change
        tiles = page.evaluate(TILE_JS)
        assert [t["href"] for t in tiles] == [f"#exp-{t['n']}" for t in tiles]
        truth = expected_tiles(url, RULER_NEW, extras.store)
        assert drawn(tiles) == truth
        kinds = {stage[0] for _, stages in truth.values() for stage in stages}
        assert kinds == {"model", "adapter", "step", "training"}  # the record has every era
        assert page.evaluate("document.querySelectorAll('#cases details.case').length") == 30
        assert page.evaluate("document.querySelectorAll('table.ceiling tbody tr').length") == 3
        assert page.evaluate("document.querySelectorAll('table.rejudge tbody tr').length") == 1
        assert page.evaluate("document.querySelectorAll('#training li.adapter').length") == 2

        shots = [page.screenshot(tmp_path / "report-climb.png")]
        page.evaluate("document.getElementById('tile-wall').scrollIntoView()")
        shots.append(page.screenshot(tmp_path / "report-tiles.png"))
        page.evaluate("const d = document.querySelector('#cases details'); d.open = true; d.scrollIntoView()")
        shots.append(page.screenshot(tmp_path / "report-case.png"))
        for shot in shots:
            assert shot.stat().st_size > 20_000
            print(f"screenshot: {shot}")

        page.evaluate("fetch('http://127.0.0.1:9/probe').catch(() => null)")  # the watch sees what a page tries
        assert page.wait_for("window.__violations.length > 0 && window.__violations") == ["http://127.0.0.1:9/probe"]


def test_the_dashboard_tile_wall_equals_the_record_and_opens_experiments(project, tmp_path):
    root, url, extras = project
    server = BackgroundServer(create_app(url, root / "ruler", allowed_hosts=allowed_hosts("127.0.0.1"),
                                         adapter_store=extras.store)).start()
    try:
        with Browser(width=1400, height=1100) as browser:
            page = browser.new_page()
            page.goto(server.url + "/tiles")
            tiles = page.evaluate(TILE_JS)
            assert drawn(tiles) == expected_tiles(url, RULER_NEW, extras.store)
            assert [t["n"] for t in tiles] == sorted(t["n"] for t in tiles)  # run order
            assert all(t["href"] == f"/experiments/{t['n']}" for t in tiles)
            shot = page.screenshot(tmp_path / "dashboard-tiles.png")
            assert shot.stat().st_size > 20_000
            print(f"screenshot: {shot}")
            target = next(t["n"] for t in tiles if t["status"] == "kept")
            page.evaluate(f"document.getElementById('tile-{target}').click()")
            assert page.wait_for(f"location.pathname === '/experiments/{target}'", timeout_s=15)
            assert page.evaluate("document.querySelector('h1').innerText").startswith(f"Experiment #{target}")
    finally:
        server.stop()
