"""Workers: several daemons on one record, each under a name (`autoresearch run --worker NAME`, by
default `<host>-<pid>`), each with a row in the `workers` table.

- `WorkerIdentity`: this process's name, host and pid.
- `register`: takes the name. A name is held by one live process at a time: a row that has not
  stopped, whose heartbeat is younger than `worker_lease_s` and whose process is not known dead (same
  host, pid gone) refuses the start (`WorkerNameTaken`, naming host, pid and heartbeat); otherwise the
  row is taken over by compare-and-swap, so of two starts racing for one name exactly one wins.
- `Heartbeat`: a thread that renews the worker's heartbeat and the leases of its unfinished
  experiments (`leases.renew`), its judge slots and its budget hold every quarter of the lease. A heartbeat that finds its name taken by
  another process calls `on_lost` (the daemon stops); a database error is logged and retried.
- `worker_views`: what `status` shows of each worker.

Times are the workers' own UTC clocks (keep hosts on NTP; the lease is much longer than any skew).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from loop.config import Config
from loop.db.models import Worker, utcnow
from loop.db.session import session_scope

log = logging.getLogger("loop.daemon")


@dataclass(frozen=True)
class WorkerIdentity:
    name: str
    host: str
    pid: int

    @classmethod
    def current(cls, name: str | None = None) -> "WorkerIdentity":
        host, pid = socket.gethostname(), os.getpid()
        return cls(name or f"{host}-{pid}", host, pid)


class WorkerNameTaken(RuntimeError):
    def __init__(self, name: str, host: str, pid: int, heartbeat: datetime):
        self.name = name
        age = (utcnow() - as_utc(heartbeat)).total_seconds()
        super().__init__(f"worker name {name!r} is already taken by a live daemon on host {host} (pid {pid}, "
                         f"last heartbeat {age:.0f} s ago); choose another with `--worker NAME`, or stop that one")


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def known_dead(row: Worker, here: WorkerIdentity) -> bool:
    """The worker ran on this host and its process is gone (no need to wait for its lease)."""
    return row.host == here.host and row.pid != here.pid and not pid_alive(row.pid)


def is_live(row: Worker, here: WorkerIdentity, now: datetime, lease_s: float) -> bool:
    return (row.stopped_at is None and as_utc(row.heartbeat_at) > now - timedelta(seconds=lease_s)
            and not known_dead(row, here))


def register(config: Config, me: WorkerIdentity, attempts: int = 5) -> None:
    """Hold the name `me.name` in the record (see the module docstring); raises WorkerNameTaken."""
    for _ in range(attempts):
        now = utcnow()
        try:
            with session_scope(config) as db:
                row = db.get(Worker, me.name)
                if row is None:
                    db.add(Worker(name=me.name, host=me.host, pid=me.pid, started_at=now, heartbeat_at=now))
                    return
                if (row.host, row.pid) != (me.host, me.pid) and is_live(row, me, now, config.worker_lease_s):
                    raise WorkerNameTaken(me.name, row.host, row.pid, row.heartbeat_at)
                won = db.execute(update(Worker).where(
                    Worker.name == me.name, Worker.host == row.host, Worker.pid == row.pid,
                    Worker.heartbeat_at == row.heartbeat_at).values(
                    host=me.host, pid=me.pid, started_at=now, heartbeat_at=now, stopped_at=None)).rowcount
                if won == 1:
                    return
        except IntegrityError:
            continue  # another start inserted the name first: read it again
    with session_scope(config) as db:
        row = db.get(Worker, me.name)
    raise WorkerNameTaken(me.name, row.host, row.pid, row.heartbeat_at)


def unregister(config: Config, me: WorkerIdentity) -> None:
    """A clean exit: the name is free at once."""
    with session_scope(config) as db:
        db.execute(update(Worker).where(Worker.name == me.name, Worker.host == me.host, Worker.pid == me.pid)
                   .values(stopped_at=utcnow()))


def beat(config: Config, me: WorkerIdentity) -> bool:
    """One heartbeat: the worker's row and its claims' leases; False when the name is no longer ours."""
    from loop.daemon import judge_slots, shared_budget
    from loop.daemon.leases import renew

    now = utcnow()
    until = now + timedelta(seconds=config.worker_lease_s)
    with session_scope(config) as db:
        ours = db.execute(update(Worker).where(Worker.name == me.name, Worker.host == me.host,
                                               Worker.pid == me.pid).values(heartbeat_at=now)).rowcount
        renew(db, me.name, until)
        judge_slots.renew(db, me.name, until)
        shared_budget.renew(db, me.name, until)
    return ours == 1


class Heartbeat:
    def __init__(self, config: Config, me: WorkerIdentity, on_lost=lambda message: None):
        self.config, self.me, self.on_lost = config, me, on_lost
        self.interval = config.worker_lease_s / 4
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{me.name}", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not beat(self.config, self.me):
                    self.on_lost(f"worker name {self.me.name!r} was taken over by another daemon "
                                 "(this one was presumed dead)")
                    return
            except Exception as exc:  # the record unreachable for a while: the lease runs on; try again
                log.warning("heartbeat of worker %s failed: %s: %s", self.me.name, type(exc).__name__, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def __enter__(self) -> "Heartbeat":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class WorkerView(BaseModel):
    """One worker as `status` shows it."""

    name: str
    host: str
    pid: int
    state: str  # running | stopped | lost (no heartbeat within the lease, or its process is gone)
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_s: float
    stopped_at: datetime | None = None
    experiment: int | None = None  # the experiment it is running, if any
    step: str | None = None

    @property
    def doing(self) -> str:
        """What it is doing, in words (status, the dashboard and the digest say it alike)."""
        if self.state == "stopped":
            return "stopped"
        if self.state == "lost":
            return "lost (no heartbeat within its lease)"
        return f"experiment {self.experiment:04d} step {self.step}" if self.experiment is not None else "idle"


def worker_views(config: Config, here: WorkerIdentity | None = None) -> list[WorkerView]:
    """Every worker the record knows, live ones first, each with its current experiment and step (the
    one reader behind `status`, the dashboard's workers panel and the digest)."""
    with session_scope(config) as db:
        return read_worker_views(db, config.worker_lease_s, here)


def read_worker_views(db, lease_s: float, here: WorkerIdentity | None = None) -> list[WorkerView]:
    """`worker_views` in the caller's session (the dashboard's binds its own read-only connection)."""
    from loop.db.models import Experiment
    from loop.daemon.experiments import UNFINISHED

    here = here or WorkerIdentity.current()
    now = utcnow()
    workers = list(db.scalars(select(Worker).order_by(Worker.name)))
    running = {row.worker: row for row in db.scalars(select(Experiment).where(
        UNFINISHED, Experiment.worker.is_not(None), Experiment.lease_until.is_not(None))
        .order_by(Experiment.number))}
    views = []
    for w in workers:
        state = ("stopped" if w.stopped_at is not None else
                 "running" if is_live(w, here, now, lease_s) else "lost")
        current = running.get(w.name) if state == "running" else None
        views.append(WorkerView(
            name=w.name, host=w.host, pid=w.pid, state=state, started_at=as_utc(w.started_at),
            heartbeat_at=as_utc(w.heartbeat_at), heartbeat_age_s=round((now - as_utc(w.heartbeat_at)).total_seconds(), 1),
            stopped_at=as_utc(w.stopped_at) if w.stopped_at else None,
            experiment=current.number if current else None, step=current.step if current else None))
    order = {"running": 0, "lost": 1, "stopped": 2}
    return sorted(views, key=lambda v: (order[v.state], v.name))
