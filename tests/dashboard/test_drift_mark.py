"""The dashboard marks a judge drift notification (an Event of kind judge_drift) on the overview, in
real headless Chromium; /api/data carries it."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest

from loop.db.models import Event
from loop.db.session import session_scope

from .cdp import Browser

MESSAGE = "judge drift: anthropic:claude-sonnet-4-6 re-judged experiment 7's outputs -0.1250 per case"


@pytest.mark.needs_chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_the_overview_marks_a_judge_drift(record, serve):
    server = serve(record.url, record.ruler_dir)
    with urllib.request.urlopen(server.url + "/api/data") as reply:
        assert json.loads(reply.read())["judge_drifts"] == []
    with session_scope(record.url) as db:
        db.add(Event(kind="judge_drift", message=MESSAGE, payload={"delta": -0.125}, experiment_number=7))
    with urllib.request.urlopen(server.url + "/api/data") as reply:
        assert [d["message"] for d in json.loads(reply.read())["judge_drifts"]] == [MESSAGE]
    with Browser(width=1400, height=1200) as browser:
        page = browser.new_page()
        page.goto(server.url + "/")
        text = page.wait_for("document.getElementById('judge-drift') && document.getElementById('judge-drift').innerText")
        assert "flagged" in text and "-0.1250 per case" in text
        assert page.console_errors() == []
