"""The labelling view: a person labels 30 cases in real headless Chromium with the keyboard alone; the
labels land in the record, unblinded, with the configured author; the judges-vs-people kappa table
follows. The write rules refuse a cross-origin post, a missing or reused token and bad fields, and
store nothing then."""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from loop.db.models import HumanLabel
from loop.db.session import session_scope
from loop.judges.human import unblind

from .cdp import Browser

AUTHOR = "ada"


@pytest.fixture
def server(record):
    with BackgroundServer(create_app(record.url, record.ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"),
                                     supervisor=AUTHOR)) as started:
        yield started


def labels(url: str) -> list[HumanLabel]:
    with session_scope(url) as db:
        return list(db.scalars(select(HumanLabel).order_by(HumanLabel.id)))


def page_token(base: str) -> str:
    with urllib.request.urlopen(base + "/label") as reply:
        html = reply.read().decode()
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def post(base: str, fields: dict, origin: str | None) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(base + "/label", data=urlencode(fields).encode(), headers=headers,
                                     method="POST")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.needs_chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_a_person_labels_30_cases_without_the_mouse(record, server, tmp_path):
    keys = ["a", "t", "b"] * 10
    with Browser(width=1300, height=1600) as browser:
        page = browser.new_page()
        page.goto(server.url + "/label")
        assert page.evaluate("document.getElementById('author').innerText") == AUTHOR
        assert page.evaluate("document.querySelectorAll('#set-a ol li').length") == 7
        shown = []
        for key in keys:
            shown.append(page.evaluate("document.getElementById('task').innerText"))
            seen = len(browser.events)
            page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": key, "text": key})
            page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key})
            page.wait_event("Page.loadEventFired", after=seen)
        assert page.evaluate("document.getElementById('mine').innerText") == "30"
        assert page.evaluate("document.querySelectorAll('#kappa tr.judge').length") >= 1
        assert page.console_errors() == []
        page.screenshot(tmp_path / "label.png")
    stored = labels(record.url)
    assert len(stored) == 30 and {s.author for s in stored} == {AUTHOR}
    assert [s.pick for s in stored] == [{"a": "A", "t": "tie", "b": "B"}[k] for k in keys]
    assert all(s.verdict == unblind(s.pick, s.shown_first) for s in stored)
    assert {s.shown_first for s in stored} == {"candidate", "gold"}  # the order is random, both occur
    assert len({s.candidate_hash for s in stored}) == 30  # each label a different candidate


def test_unblind_maps_picks_back_to_the_candidate():
    assert unblind("A", "candidate") == "candidate" and unblind("A", "gold") == "gold"
    assert unblind("B", "candidate") == "gold" and unblind("B", "gold") == "candidate"
    assert unblind("tie", "gold") == "tie"


def test_the_write_rules_refuse_and_store_nothing(record, server):
    base = server.url
    assert post(base, {"csrf": page_token(base), "pick": "A"}, origin="http://evil.example") == 403
    assert post(base, {"csrf": page_token(base), "pick": "A"}, origin=None) == 403
    assert post(base, {"pick": "A"}, origin=base) == 403
    assert post(base, {"csrf": "made-up", "pick": "A"}, origin=base) == 403
    assert post(base, {"csrf": page_token(base), "pick": "C"}, origin=base) == 400
    assert post(base, {"csrf": page_token(base), "pick": "A", "A_coverage": "9"}, origin=base) == 400
    assert labels(record.url) == []
    token = page_token(base)
    assert post(base, {"csrf": token, "pick": "tie", "A_coverage": "4", "B_coverage": "2"}, origin=base) == 303
    assert post(base, {"csrf": token, "pick": "tie"}, origin=base) == 403  # a token is used once
    (stored,) = labels(record.url)
    assert stored.author == AUTHOR and stored.verdict == "tie"
    assert stored.dims == {"coverage": 4 if stored.shown_first == "candidate" else 2}
