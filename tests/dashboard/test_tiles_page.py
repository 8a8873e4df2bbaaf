"""The dashboard's `/tiles` over real HTTP: the window and the ruler choose which tiles, in run order."""

from __future__ import annotations

import re

from sqlalchemy import or_, select

from loop.db.models import Experiment
from loop.db.session import session_scope
from tests.support.dashboard_records import RULER_NEW, RULER_OLD

from .webget import get

TILE = re.compile(r'<a class="tile [a-z]+" id="tile-(\d+)" href="/experiments/\1"')


def view(url: str, ruler: str) -> list[int]:
    with session_scope(url) as db:
        return list(db.scalars(select(Experiment.number).where(
            or_(Experiment.ruler_id == ruler, Experiment.ruler_id.is_(None))).order_by(Experiment.number)))


def test_tiles_follow_the_ruler_and_the_window(record, serve):
    server = serve(record.url, record.ruler_dir)
    status, _, page = get(server.url + "/tiles")
    assert status == 200
    assert [int(n) for n in TILE.findall(page)] == view(record.url, RULER_NEW)
    old = get(server.url + f"/tiles?ruler={RULER_OLD}")[2]
    assert [int(n) for n in TILE.findall(old)] == view(record.url, RULER_OLD)
    window = get(server.url + "/tiles?first=20&last=30")[2]
    assert [int(n) for n in TILE.findall(window)] == [n for n in view(record.url, RULER_NEW) if 20 <= n <= 30]
    status, _, bad = get(server.url + "/tiles?first=x")
    assert status == 400 and "whole number" in bad
    assert 'href="/tiles"' in get(server.url + "/")[2]  # the overview links to the wall
