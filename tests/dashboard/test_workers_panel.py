"""The workers seen from the morning: the dashboard's workers panel, each experiment page's worker and
the digest's workers section, all read by status's reader (loop.daemon.workers)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from loop.config import load_config
from loop.daemon.digest import digest
from loop.db.models import Experiment, Worker, utcnow
from loop.db.session import session_scope

from .webget import get


def _two_workers(url: str) -> int:
    """`mac-a` live on the newest experiment (step rescore), `linux-b` silent for an hour (lost)."""
    now = utcnow()
    with session_scope(url) as db:
        number = max(n for (n,) in db.query(Experiment.number))
        db.add_all([Worker(name="mac-a", host="mac-a.local", pid=111, heartbeat_at=now),
                    Worker(name="linux-b", host="box", pid=222, heartbeat_at=now - timedelta(hours=1))])
        db.execute(update(Experiment).where(Experiment.number == number).values(
            status="running", step="rescore", worker="mac-a", lease_until=now + timedelta(minutes=1),
            finished_at=None))
    return number


def test_the_overview_shows_each_worker_and_the_experiment_page_its_worker(record, serve):
    number = _two_workers(record.url)
    server = serve(record.url, record.ruler_dir)
    status, _, page = get(server.url + "/")
    assert status == 200
    panel = page[page.index('id="workers"'):]
    assert "<code>mac-a</code>" in panel and f'<a href="/experiments/{number}">experiment {number:04d}</a> step rescore' in panel
    assert "<code>linux-b</code>" in panel and "lost (no heartbeat within its lease)" in panel
    assert panel.index("mac-a") < panel.index("linux-b")  # live workers first
    status, _, detail = get(server.url + f"/experiments/{number}")
    assert status == 200 and "<dt>worker</dt><dd>mac-a</dd>" in detail


def test_the_digest_lists_each_worker(record, tmp_path):
    number = _two_workers(record.url)
    text = digest(load_config(tmp_path, database_url=record.url))
    section = text[text.index("## Workers"):]
    assert f"- `mac-a` on mac-a.local (pid 111): experiment {number:04d} step rescore; last heartbeat" in section
    assert "- `linux-b` on box (pid 222): lost (no heartbeat within its lease); last heartbeat" in section
