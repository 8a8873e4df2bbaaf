"""The overview's workers panel: each worker on the record (name, host, what it is doing, last
heartbeat), read by the same reader as `status` (loop.daemon.workers.read_worker_views)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from loop.daemon.workers import WorkerView, read_worker_views
from loop.dashboard.pages import e

DEFAULT_LEASE_S = 60.0  # the config's worker_lease_s default: a worker silent this long shows as lost


def read_workers(conn, lease_s: float = DEFAULT_LEASE_S) -> list[WorkerView]:
    with Session(bind=conn) as db:
        return read_worker_views(db, lease_s)


def workers_panel(views: list[WorkerView]) -> str:
    if not views:
        return ""
    rows = "".join(
        f'<tr class="worker {e(w.state)}"><td><code>{e(w.name)}</code></td><td>{e(w.host)} (pid {w.pid})</td>'
        f'<td>{e(w.state)}</td><td>{_doing(w)}</td>'
        f'<td>{w.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC ({w.heartbeat_age_s:.0f} s ago)</td></tr>' for w in views)
    return ('<section class="panel" id="workers"><h2>Workers</h2><table class="workers"><thead><tr><th>worker</th>'
            '<th>host</th><th>state</th><th>doing</th><th>last heartbeat</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></section>")


def _doing(w: WorkerView) -> str:
    if w.experiment is None:
        return e(w.doing)
    return f'<a href="/experiments/{w.experiment}">experiment {w.experiment:04d}</a> step {e(w.step)}'
