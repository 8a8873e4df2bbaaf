"""The supervisor's panel on the experiment page, through the real app: feedback and steering notes written
from the page land in the record with the configured author, show on the page, and a note can be dropped;
the one set of write rules (same origin, a single-use token bound to its form and page) refuses everything
else, and bad fields store nothing. In real headless Chromium: a person types feedback and a note."""

from __future__ import annotations

import html as htmllib
import re
import shutil
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from loop.db.models import ExperimentFeedback, SteeringNote
from loop.db.session import session_scope
from loop.supervisor import store

from .cdp import Browser

AUTHOR = "ada"


@pytest.fixture
def server(record):
    with BackgroundServer(create_app(record.url, record.ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"),
                                     supervisor=AUTHOR)) as started:
        yield started


def page(base: str, number: int) -> str:
    with urllib.request.urlopen(f"{base}/experiments/{number}") as reply:
        return reply.read().decode()


def token(html: str, action: str) -> str:
    """The CSRF token of the form posting to `action`."""
    found = re.search(r'action="' + re.escape(action) + r'">\s*<input type="hidden" name="csrf" value="([^"]+)"', html)
    assert found, f"no form for {action}"
    return found.group(1)


def post(base: str, path: str, fields: list[tuple[str, str]], origin: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(base + path, data=urlencode(fields).encode(), headers=headers, method="POST")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request) as reply:
            return reply.status, reply.headers.get("location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("location") or htmllib.unescape(exc.read().decode())


def stored(url: str) -> tuple[list[ExperimentFeedback], list[SteeringNote]]:
    with session_scope(url) as db:
        return (list(db.scalars(select(ExperimentFeedback).order_by(ExperimentFeedback.id))),
                list(db.scalars(select(SteeringNote).order_by(SteeringNote.id))))


def test_feedback_and_notes_written_on_the_page_are_recorded_and_shown(record, server):
    base = server.url
    html = page(base, 3)
    assert 'id="feedback-none"' in html and f'<b class="author">{AUTHOR}</b>' in html
    status, where = post(base, "/experiments/3/feedback",
                         [("csrf", token(html, "/experiments/3/feedback")), ("text", "Coverage fell: why?")], base)
    assert (status, where) == (303, "/experiments/3#supervisor")
    steer = token(page(base, 3), "/steering")
    status, _ = post(base, "/steering", [("csrf", steer), ("text", "Retrieval next."), ("for", "2"),
                                         ("focus", "retrieval"), ("focus", "cleanup")], base)
    assert status == 303
    (feedback,), (note,) = stored(record.url)
    assert (feedback.experiment_number, feedback.text, feedback.author) == (3, "Coverage fell: why?", AUTHOR)
    assert (note.text, note.focus, note.for_experiments, note.author) == ("Retrieval next.", ["retrieval", "cleanup"],
                                                                            2, AUTHOR)
    store.deliver(record.url, [store.NoteView.model_validate(note)], 3)  # as the daemon does for experiment 3
    html = page(base, 3)
    assert re.search(r'<li class="feedback"><b>ada</b> .*?: Coverage fell: why\?</li>', html)
    assert re.search(r'<ul id="notes-shown"><li class="note-shown"><span class="text">Retrieval next\.', html)
    assert re.search(r'<li class="note-active" data-id="\d+"><span class="text">Retrieval next\..*1 experiment\(s\) '
                     r'left · focus <span class="focus">retrieval, cleanup', html)
    other = page(base, 4)
    assert 'id="feedback-none"' in other and 'id="notes-shown-none"' in other and 'class="note-active"' in other
    status, _ = post(base, f"/steering/{note.id}/drop", [("csrf", token(html, f"/steering/{note.id}/drop"))], base)
    assert status == 303
    (_,), (dropped,) = stored(record.url)
    assert dropped.dropped_by == AUTHOR and dropped.dropped_at is not None
    assert 'id="notes-active-none"' in page(base, 3)


def test_the_write_rules_and_bad_fields_refuse_and_store_nothing(record, server):
    base = server.url
    fresh = lambda action, n=3: token(page(base, n), action)  # noqa: E731
    feedback = "/experiments/3/feedback"
    assert post(base, feedback, [("csrf", fresh(feedback)), ("text", "x")], "http://evil.example")[0] == 403
    assert post(base, feedback, [("csrf", fresh(feedback)), ("text", "x")], None)[0] == 403
    assert post(base, feedback, [("text", "x")], base)[0] == 403
    assert post(base, feedback, [("csrf", "made-up"), ("text", "x")], base)[0] == 403
    # a token works only for the form and page it was issued with
    assert post(base, "/steering", [("csrf", fresh(feedback)), ("text", "x")], base)[0] == 403
    assert post(base, "/experiments/4/feedback", [("csrf", fresh(feedback)), ("text", "x")], base)[0] == 403
    status, body = post(base, feedback, [("csrf", fresh(feedback)), ("text", "   ")], base)
    assert status == 400 and "empty" in body and "nothing was stored" in body
    status, body = post(base, "/steering", [("csrf", fresh("/steering")), ("text", "x"), ("focus", "vibes")], base)
    assert status == 400 and "unknown focus 'vibes'" in body
    for bad in ("0", "two"):
        status, body = post(base, "/steering", [("csrf", fresh("/steering")), ("text", "x"), ("for", bad)], base)
        assert status == 400 and "nothing was stored" in body
    assert stored(record.url) == ([], [])
    used = fresh(feedback)
    assert post(base, feedback, [("csrf", used), ("text", "fine")], base)[0] == 303
    assert post(base, feedback, [("csrf", used), ("text", "again")], base)[0] == 403  # a token is used once
    assert [f.text for f in stored(record.url)[0]] == ["fine"]


@pytest.mark.needs_chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_a_person_leaves_feedback_and_a_note_and_drops_it_in_chromium(record, server, tmp_path):
    with Browser(width=1300, height=1800) as browser:
        tab = browser.new_page()
        tab.goto(server.url + "/experiments/5")

        def submit(form: str, script: str) -> None:
            seen = len(browser.events)
            tab.evaluate(f"(() => {{ const f = document.getElementById('{form}'); {script}; "
                         "f.querySelector('button[type=submit]').click(); })()")
            tab.wait_event("Page.loadEventFired", after=seen)

        submit("feedback-form", "f.querySelector('textarea').value = 'The pruning hid the budget question.'")
        assert tab.evaluate("document.querySelector('#feedback li.feedback').innerText").endswith(
            "The pruning hid the budget question.")
        submit("steer-form", "f.querySelector('textarea').value = 'Cleanup thresholds next.'; "
                             "f.querySelector('input[name=for]').value = '3'; "
                             "f.querySelector('input[value=cleanup]').checked = true")
        assert "Cleanup thresholds next." in tab.evaluate("document.querySelector('#notes-active li').innerText")
        tab.screenshot(tmp_path / "supervisor.png")
        seen = len(browser.events)
        tab.evaluate("document.querySelector('#notes-active form.drop button').click()")
        tab.wait_event("Page.loadEventFired", after=seen)
        assert tab.evaluate("!!document.getElementById('notes-active-none')")
        assert tab.console_errors() == []
    (feedback,), (note,) = stored(record.url)
    assert (feedback.experiment_number, feedback.author) == (5, AUTHOR)
    assert (note.focus, note.for_experiments, note.dropped_by) == (["cleanup"], 3, AUTHOR)
