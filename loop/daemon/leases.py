"""Experiment numbers claimed in the record, each with a lease, so several workers share one record.

- `claim`: the next number (max + 1) inserted under the primary key's uniqueness. Two workers that
  read the same max collide on the insert and the loser tries again with the next number (PostgreSQL:
  a unique violation once the winner commits; SQLite: the write lock). The row carries its worker and
  a lease of `worker_lease_s`.
- `renew` (the worker's heartbeat) pushes the leases of its unfinished experiments forward.
- `Claims.survey`: which unfinished experiments this worker may recover or resume (its own name's,
  released ones, expired leases, holders known dead on this host) and which are held by live
  workers (their worktrees are left alone).
- `take_over`: a compare-and-swap on (worker, lease, status, step): of several workers recovering the
  same dead claim, exactly one does it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from loop.config import Config
from loop.daemon.workers import WorkerIdentity, as_utc, known_dead
from loop.db.models import Experiment, Worker, utcnow
from loop.db.session import session_scope

CLAIM_ATTEMPTS = 200


class ClaimFailed(RuntimeError):
    pass


def lease_deadline(config: Config, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=config.worker_lease_s)


def _contended(exc: Exception) -> bool:
    """A lost race for the next number: a duplicate key, or SQLite's write lock."""
    return isinstance(exc, IntegrityError) or "locked" in str(exc) or "busy" in str(exc)


def claim(config: Config, worker: str, **fields) -> int:
    """A new experiment row (status running, step claimed, held by `worker`) with the next free number."""
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            with session_scope(config) as db:
                last = db.scalar(select(func.max(Experiment.number)))
                number = 0 if last is None else last + 1
                db.add(Experiment(number=number, status="running", step="claimed", started_at=utcnow(),
                                  worker=worker, lease_until=lease_deadline(config), **fields))
            return number
        except (IntegrityError, OperationalError) as exc:
            if not _contended(exc):
                raise
            time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 20)))
    raise ClaimFailed(f"could not claim an experiment number after {CLAIM_ATTEMPTS} attempts (contention)")


def renew(db, worker: str, until: datetime) -> int:
    """Push the leases of `worker`'s unfinished, held experiments to `until` (in the caller's session)."""
    from loop.daemon.experiments import UNFINISHED

    return db.execute(update(Experiment).where(Experiment.worker == worker, Experiment.lease_until.is_not(None),
                                               UNFINISHED).values(lease_until=until)).rowcount or 0


def release(db, number: int) -> None:
    db.execute(update(Experiment).where(Experiment.number == number).values(lease_until=None))


def take_over(config: Config, row: Experiment, worker: str | None = None) -> bool:
    """Hold `row`'s claim for a recovery (`worker` None: the row keeps who ran it) or a resumption
    (`worker` = the resuming worker). False when another worker changed it first."""
    values = {"lease_until": lease_deadline(config)}
    if worker is not None:
        values["worker"] = worker
    with session_scope(config) as db:
        won = db.execute(update(Experiment).where(
            Experiment.number == row.number, Experiment.worker.is_not_distinct_from(row.worker),
            Experiment.lease_until.is_not_distinct_from(row.lease_until), Experiment.status == row.status,
            Experiment.step == row.step).values(**values)).rowcount
    return won == 1


@dataclass
class Claims:
    """The unfinished experiments as one worker sees them at one moment."""

    recoverable: list[Experiment] = field(default_factory=list)  # dead or released claims, oldest first
    held: set[int] = field(default_factory=set)  # numbers live workers hold (leave their worktrees alone)
    last_number: int | None = None  # numbers above it were claimed after this survey
    others_live: bool = False  # another worker is running on this record
    why: dict[int, str] = field(default_factory=dict)  # number -> why it is recoverable

    def spared(self, number: int) -> bool:
        return number in self.held or self.last_number is None or number > self.last_number

    @classmethod
    def survey(cls, config: Config, me: WorkerIdentity) -> "Claims":
        from loop.daemon.experiments import UNFINISHED
        from loop.daemon.workers import is_live

        now = utcnow()
        with session_scope(config) as db:
            workers = {w.name: w for w in db.scalars(select(Worker))}
            rows = list(db.scalars(select(Experiment).where(UNFINISHED).order_by(Experiment.number)))
            last = db.scalar(select(func.max(Experiment.number)))
        claims = cls(last_number=last)
        claims.others_live = any(name != me.name and is_live(w, me, now, config.worker_lease_s)
                                 for name, w in workers.items())
        for row in rows:
            holder = workers.get(row.worker) if row.worker else None
            if row.worker == me.name:
                why = "this worker's earlier run"
            elif row.lease_until is None:
                why = "released" if row.resume_step else "no lease"
            elif as_utc(row.lease_until) <= now:
                why = f"worker {row.worker}'s lease expired at {as_utc(row.lease_until):%H:%M:%S}"
            elif holder is not None and known_dead(holder, me):
                why = f"worker {row.worker} (pid {holder.pid}) is gone"
            else:
                claims.held.add(row.number)
                continue
            claims.recoverable.append(row)
            claims.why[row.number] = why
        return claims
