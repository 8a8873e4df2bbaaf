"""The labelling view's pool mode (`/label?mode=pool`): training-pool drafts (the dashboard's --drafts
file, read by the export's own reader) against the pool's gold as A and B in random order, labelled with
the keyboard in headless Chromium; each label is stored with source "pool", the author and the time,
and `judge export-pairs`' reader turns every non-tie into a preference proposal (chosen = the set the
person preferred). Ruler mode is unchanged and a pool page without drafts says how to get them."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from loop.config import Config
from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from loop.db.models import HumanLabel
from loop.db.session import session_scope
from loop.judges.human import unblind
from loop.judges.pairs import human_proposals
from loop.schemas import Answer
from tests.support.judge_ladders import TASKS

from .cdp import Browser

AUTHOR = "grace"


@pytest.fixture
def pool_workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace whose pool is the sanity suite's own tasks, and a drafts file with one draft each."""
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    rows = [{"id": f"p-{t['id']}", "domain": "own", "task": t["task"],
             "gold": {"title": t["title"], "questions": t["gold"]}} for t in TASKS]
    (ws / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text("".join(json.dumps({"id": f"p-{t['id']}", "answer": {"title": t["title"],
                                                                           "questions": t["independent"]}}) + "\n"
                              for t in TASKS))
    return ws, drafts


def stored(url: str) -> list[HumanLabel]:
    with session_scope(url) as db:
        return list(db.scalars(select(HumanLabel).order_by(HumanLabel.id)))


@pytest.mark.needs_chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_a_person_labels_pool_drafts_and_they_become_preference_proposals(record, pool_workspace, tmp_path):
    ws, drafts = pool_workspace
    keys = ["a", "b", "t", "a", "b"]
    app = create_app(record.url, record.ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"), supervisor=AUTHOR,
                     workspace=ws, drafts=drafts)
    with BackgroundServer(app) as server, Browser(width=1300, height=1400) as browser:
        page = browser.new_page()
        page.goto(server.url + "/label?mode=pool")
        assert page.evaluate("document.getElementById('mode').dataset.mode") == "pool"
        shown = []
        for key in keys:
            shown.append(page.evaluate("document.getElementById('task').innerText"))
            assert page.evaluate("document.querySelectorAll('#set-a ol li').length") == 7
            seen = len(browser.events)
            page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": key, "text": key})
            page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key})
            page.wait_event("Page.loadEventFired", after=seen)
        assert page.evaluate("document.getElementById('mode').dataset.mode") == "pool"  # back to the pool
        assert "Nothing left to label" in page.evaluate("document.getElementById('done').innerText")
        assert page.console_errors() == []
        page.screenshot(tmp_path / "label_pool.png")
    assert sorted(shown) == sorted(t["task"] for t in TASKS)
    labels = stored(record.url)
    assert len(labels) == len(TASKS)
    assert {lb.source for lb in labels} == {"pool"} and {lb.author for lb in labels} == {AUTHOR}
    assert all(lb.created_at is not None for lb in labels)
    assert [lb.pick for lb in labels] == [{"a": "A", "t": "tie", "b": "B"}[k] for k in keys]
    assert all(lb.verdict == unblind(lb.pick, lb.shown_first) for lb in labels)
    by_id = {f"p-{t['id']}": t for t in TASKS}
    assert all(lb.candidate == {"title": by_id[lb.case_id]["title"], "questions": by_id[lb.case_id]["independent"]}
               for lb in labels)

    from loop.ruler_files import load_cases

    pool = {c.id: c for c in load_cases(ws / "data" / "train.jsonl")}
    proposals, refused, ties = human_proposals(Config(database_url=record.url), pool)
    assert refused == [] and ties == 1 and len(proposals) == len(TASKS) - 1
    for p in proposals:
        label = next(lb for lb in labels if p.id.endswith(f"/human/{lb.id}"))
        draft = Answer.model_validate(label.candidate)
        assert (p.chosen == draft) == (label.verdict == "candidate") and p.labeller == AUTHOR


def test_pool_mode_without_drafts_says_how_to_get_them(record):
    app = create_app(record.url, record.ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"), supervisor=AUTHOR)
    with BackgroundServer(app) as server:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "/label?mode=pool")
        assert refused.value.code == 404 and "--drafts" in refused.value.read().decode()
        with urllib.request.urlopen(server.url + "/label") as reply:  # ruler mode as before
            assert 'data-mode="ruler"' in reply.read().decode()
    assert stored(record.url) == []


def test_a_broken_drafts_file_is_named_and_nothing_is_stored(record, pool_workspace):
    ws, drafts = pool_workspace
    drafts.write_text('{"id": "p-s1", "answer": ' + "\n")
    app = create_app(record.url, record.ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"), supervisor=AUTHOR,
                     workspace=ws, drafts=drafts)
    with BackgroundServer(app) as server:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "/label?mode=pool")
        body = refused.value.read().decode()
        assert refused.value.code == 404 and "drafts.jsonl" in body and "not a drafts file" in body, body
    assert stored(record.url) == []
